package mmap

import (
	"io"
	"os"
)

// readFile is the fallback where mapping is not possible: the file is read
// into memory.
func readFile(f *os.File, size int) (*Mapping, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return &Mapping{data: data}, nil
}
