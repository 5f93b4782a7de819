package convert

import (
	"os"
	"syscall"
	"unsafe"
)

var pageSize = os.Getpagesize()

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later).
const madvPageout = 21

// release asks the kernel to reclaim the whole pages inside data, a view of
// the input file, so that a conversion's resident memory does not grow with
// the input it has read. MADV_PAGEOUT never loses data: file pages are read
// back when touched again, and should data be ordinary memory (a file read
// without mmap), it is at most swapped out. Older kernels ignore it.
func release(data []byte) {
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(data))) % uintptr(pageSize))
	lo := 0
	if start != 0 {
		lo = pageSize - start
	}
	hi := lo + (len(data)-lo)/pageSize*pageSize
	if len(data) == 0 || hi <= lo {
		return
	}
	syscall.Madvise(data[lo:hi], madvPageout)
}
