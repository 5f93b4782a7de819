package bitnet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/org/bitnet/internal/parallel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResidentWeights: Load copies every projection and the output matrix
// into its arena (the tied embedding shares the copy), WithMmap reads them
// from the file, and both give the same logits bit for bit.
func TestResidentWeights(t *testing.T) {
	paths := goldenFiles(t, "*.gguf")
	hf, err := filepath.Glob(filepath.Join("testdata", "hf", "tiny-hf-*"))
	require.NoError(t, err)
	paths = append(paths, hf...)
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".gguf"), func(t *testing.T) {
			for _, int8Out := range []bool{false, true} {
				opts := []LoadOption{WithThreads(2)}
				if int8Out {
					opts = append(opts, WithOutputInt8())
				}
				res, err := Load(path, opts...)
				require.NoError(t, err)
				defer res.Close()
				mapped, err := Load(path, append(opts, WithMmap())...)
				require.NoError(t, err)
				defer mapped.Close()

				require.NotNil(t, res.arena)
				assert.Nil(t, mapped.arena)
				for i := range res.w.layers {
					ly := &res.w.layers[i]
					for _, p := range []*bitLinear{&ly.q, &ly.k, &ly.v, &ly.o, &ly.gate, &ly.up, &ly.down} {
						require.True(t, res.arena.Holds(p.w.Data), "layer %d", i)
						require.False(t, p.w.InPlace)
					}
				}
				out := &res.w.output
				if int8Out {
					assert.True(t, res.arena.Holds(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out.q8))), len(out.q8))))
				} else {
					assert.True(t, res.arena.Holds(out.bytes()))
					if res.info.TiedEmbeddings {
						assert.True(t, sameData(&res.w.embed, out), "the embedding shares the output copy")
					}
				}

				ids := []int{1, 5, 9, 2, 7, 3, 3, 8}
				var logits [2][][]float32
				for i, m := range []*Model{res, mapped} {
					s, err := m.NewSession()
					require.NoError(t, err)
					logits[i], err = s.eval(context.Background(), ids, true)
					require.NoError(t, err)
				}
				require.Equal(t, logits[1], logits[0])
			}
		})
	}
}

// TestHugePageBudget: once the budget has passed, the arena stops asking
// for huge pages, and placing data still copies it exactly.
func TestHugePageBudget(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	r := newResidency(pool)
	defer r.arena.Close()
	src := make([]byte, 3*copyPiece+100)
	for i := range src {
		src[i] = byte(i * 13)
	}
	dst, err := r.place(src)
	require.NoError(t, err)
	require.Equal(t, src, dst)
	assert.True(t, r.arena.Holds(dst))

	r.faulting.Store(int64(2 * hugeBudget))
	dst2, err := r.place(src[:1000])
	require.NoError(t, err)
	require.Equal(t, src[:1000], dst2)
	assert.False(t, r.arena.Huge(), "asks for small pages after the budget")
}
