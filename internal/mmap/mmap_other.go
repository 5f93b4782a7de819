//go:build !unix

package mmap

import "os"

func mapFile(f *os.File, size int) (*Mapping, error) { return readFile(f, size) }

func unmap([]byte) error { return nil }

// allocAnon reports that the Arena should use Go memory.
func allocAnon(int) (mem, raw []byte, err error) { return nil, nil, nil }
