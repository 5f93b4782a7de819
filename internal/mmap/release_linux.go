package mmap

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

var pageSize = os.Getpagesize()

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later).
const madvPageout = 21

// Release gives back the memory of the whole pages inside data, a view of
// the input file, so that a conversion's resident memory does not grow
// with the input it has read. The data stays valid: pages are read back
// from the file when touched again.
//
// When data lies in a file mapping (checked in /proc/self/maps), the pages
// are dropped from the process (MADV_DONTNEED). Otherwise, as when the
// file was read into memory because it could not be mapped, dropping would
// lose the data, so the kernel is only asked to page it out
// (MADV_PAGEOUT), which never loses anything.
func Release(data []byte) {
	lo, hi := wholePages(data)
	if hi <= lo {
		return
	}
	advice := madvPageout
	if fileMapped(lo, hi) {
		advice = syscall.MADV_DONTNEED
	}
	madvise(lo, hi, advice)
}

// wholePages returns the bounds of the whole pages inside data.
func wholePages(data []byte) (lo, hi uintptr) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	ps := uintptr(pageSize)
	return (start + ps - 1) &^ (ps - 1), (start + uintptr(len(data))) &^ (ps - 1)
}

// madvise gives advice on the pages [lo, hi).
func madvise(lo, hi uintptr, advice int) {
	syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, uintptr(advice))
}

// ReleaseAround gives back the pages within 2 MiB of data (the largest
// folio the kernel maps on one fault), clipped to its file mapping: reading
// a few bytes, such as a scale, maps whole folios of the file around them.
// It does nothing when data is not in a file mapping.
func ReleaseAround(data []byte) {
	if len(data) == 0 {
		return
	}
	const slack = 2 << 20
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	r, ok := findMapping(addr)
	if !ok {
		return
	}
	ps := uintptr(pageSize)
	lo := max(r[0], addr&^(ps-1)-min(slack, addr&^(ps-1)))
	hi := min(r[1], (addr+uintptr(len(data))+slack)&^(ps-1))
	if hi <= lo {
		return
	}
	madvise(lo, hi, syscall.MADV_DONTNEED)
}

// fileMapped reports whether [lo, hi) lies inside one file-backed mapping.
// It reads /proc/self/maps each time: release runs once per tensor or per
// 4 MiB, and the cost is a few microseconds.
func fileMapped(lo, hi uintptr) bool {
	r, ok := findMapping(lo)
	return ok && hi <= r[1]
}

// findMapping returns the file-backed mapping (inode ≠ 0) holding addr.
func findMapping(addr uintptr) ([2]uintptr, bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return [2]uintptr{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 6 {
			continue
		}
		span := bytes.SplitN(fields[0], []byte("-"), 2)
		if len(span) != 2 {
			continue
		}
		s, err1 := strconv.ParseUint(string(span[0]), 16, 64)
		e, err2 := strconv.ParseUint(string(span[1]), 16, 64)
		if err1 != nil || err2 != nil || addr < uintptr(s) || addr >= uintptr(e) {
			continue
		}
		if string(fields[4]) == "0" {
			return [2]uintptr{}, false
		}
		return [2]uintptr{uintptr(s), uintptr(e)}, true
	}
	return [2]uintptr{}, false
}

// madvHugepage is Linux's MADV_HUGEPAGE.
const madvHugepage = 14

// adviseHuge asks for transparent huge pages over mem (where the system
// offers them only on request; it is harmless where it offers none).
func adviseHuge(mem []byte) { syscall.Madvise(mem, madvHugepage) }

// ReleaseMapped gives back the whole pages inside data when data lies in a
// file mapping, as Release does; it does nothing to other memory.
func ReleaseMapped(data []byte) {
	lo, hi := wholePages(data)
	if hi <= lo || !fileMapped(lo, hi) {
		return
	}
	madvise(lo, hi, syscall.MADV_DONTNEED)
}

// madvNoHugepage is Linux's MADV_NOHUGEPAGE.
const madvNoHugepage = 15

// adviseSmall withdraws the huge-page advice from mem: pages touched from
// now on are small ones, and the huge pages already there stay.
func adviseSmall(mem []byte) { syscall.Madvise(mem, madvNoHugepage) }
