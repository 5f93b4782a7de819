package mmap

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArena(t *testing.T) {
	sizes := []int{1, 100, 0, 64, 4097, 3 << 20, ArenaBlock - 1000, 2 * ArenaBlock, 10}
	a := NewArena()
	var pieces [][]byte
	used := 0
	for _, n := range sizes {
		p, err := a.Alloc(n)
		require.NoError(t, err)
		require.Len(t, p, n)
		used += (n + ArenaAlign - 1) / ArenaAlign * ArenaAlign
		if n > 0 {
			assert.Zero(t, uintptr(unsafe.Pointer(&p[0]))%ArenaAlign, "piece of %d bytes", n)
			assert.Equal(t, n, cap(p), "a piece cannot grow into the next")
			require.Equal(t, -1, nonZero(p), "a new piece is zeroed")
			for i := range p {
				p[i] = byte(n + i)
			}
		}
		pieces = append(pieces, p)
	}
	assert.Equal(t, used, a.Used())
	// Blocks: the small pieces; the one that no longer fits; the piece larger
	// than a block, in one of its own size; the last piece, after it.
	assert.Equal(t, 4, len(a.blocks))
	for j, p := range pieces {
		require.Equal(t, -1, mismatch(p, func(i int) byte { return byte(sizes[j] + i) }), "pieces overlap")
		assert.Equal(t, len(p) > 0, a.Holds(p))
	}
	assert.False(t, a.Holds(make([]byte, 10)))
	require.NoError(t, a.Close())
	require.NoError(t, a.Close())
	var nilArena *Arena
	require.NoError(t, nilArena.Close())
	assert.False(t, nilArena.Holds([]byte{1}))
}

// TestAdviceKeepsData: withdrawing huge pages and releasing file pages only
// change where the bytes live, never what they are.
func TestAdviceKeepsData(t *testing.T) {
	a := NewArena()
	defer a.Close()
	first, err := a.Alloc(3 << 20)
	require.NoError(t, err)
	for i := range first {
		first[i] = byte(i * 7)
	}
	a.NoHuge()
	a.NoHuge()
	rest, err := a.Alloc(ArenaBlock) // a new block, not advised
	require.NoError(t, err)
	for i := range rest {
		rest[i] = byte(i * 13)
	}
	ReleaseMapped(first) // not a file mapping: left alone
	require.Equal(t, -1, mismatch(first, func(i int) byte { return byte(i * 7) }))
	require.Equal(t, -1, mismatch(rest, func(i int) byte { return byte(i * 13) }))

	path := filepath.Join(t.TempDir(), "data")
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 31)
	}
	require.NoError(t, os.WriteFile(path, want, 0o600))
	m, err := Open(path)
	require.NoError(t, err)
	defer m.Close()
	ReleaseMapped(m.Data()[5:])
	assert.Equal(t, want, m.Data(), "released file pages read back from the file")
}

// nonZero returns the index of the first non-zero byte of p, or -1.
func nonZero(p []byte) int { return mismatch(p, func(int) byte { return 0 }) }

// mismatch returns the first i with p[i] != want(i), or -1.
func mismatch(p []byte, want func(i int) byte) int {
	for i, b := range p {
		if b != want(i) {
			return i
		}
	}
	return -1
}
