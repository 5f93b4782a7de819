// Package mmap maps files read-only into memory, with a read-into-memory
// fallback on platforms without mmap.
package mmap

import (
	"fmt"
	"os"
)

// Mapping is a read-only view of a whole file.
type Mapping struct {
	data   []byte
	mapped bool
}

// Data returns the file's bytes. They must not be modified, and must not be
// used after Close.
func (m *Mapping) Data() []byte { return m.data }

// Len returns the file's size in bytes.
func (m *Mapping) Len() int { return len(m.data) }

// Open maps the named file. An empty file gives an empty Mapping.
func Open(path string) (*Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return &Mapping{}, nil
	}
	if int64(int(size)) != size || size < 0 {
		return nil, fmt.Errorf("%s: file too large to map (%d bytes)", path, size)
	}
	return mapFile(f, int(size))
}

// Close releases the mapping. It is safe to call more than once.
func (m *Mapping) Close() error {
	if m == nil || m.data == nil {
		return nil
	}
	data := m.data
	m.data = nil
	if m.mapped {
		return unmap(data)
	}
	return nil
}
