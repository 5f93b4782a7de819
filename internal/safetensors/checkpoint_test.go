package safetensors

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFile writes tensors as a safetensors file at path.
func writeFile(t *testing.T, path string, tensors ...Tensor) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, tensors, map[string]string{"format": "pt"}))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// writeIndex writes model.safetensors.index.json into dir.
func writeIndex(t *testing.T, dir string, weightMap map[string]string) {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"metadata":   map[string]any{"total_size": 123},
		"weight_map": weightMap,
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, IndexFileName), data, 0o644))
}

var (
	tEmbed = Tensor{Name: "model.embed_tokens.weight", DType: BF16, Shape: []int{2, 2}, Data: []byte{0x80, 0x3f, 0, 0x40, 0, 0, 0x80, 0xbf}}
	tQ     = Tensor{Name: "model.layers.0.self_attn.q_proj.weight", DType: U8, Shape: []int{1, 2}, Data: []byte{0x92, 0x01}}
	tScale = Tensor{Name: "model.layers.0.self_attn.q_proj.weight_scale", DType: BF16, Shape: []int{1}, Data: []byte{0xe6, 0x41}}
	tNorm  = Tensor{Name: "model.norm.weight", DType: F32, Shape: []int{2}, Data: []byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f}}
	tIdx   = Tensor{Name: "position_ids", DType: "I64", Shape: []int{1}, Data: make([]byte, 8)}
)

// shardedDir writes a two-shard checkpoint and returns its directory.
func shardedDir(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), tEmbed, tQ, tIdx)
	writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), tScale, tNorm)
	writeIndex(t, dir, map[string]string{
		tEmbed.Name: "model-00001-of-00002.safetensors",
		tQ.Name:     "model-00001-of-00002.safetensors",
		tIdx.Name:   "model-00001-of-00002.safetensors",
		tScale.Name: "model-00002-of-00002.safetensors",
		tNorm.Name:  "model-00002-of-00002.safetensors",
	})
	return dir
}

func TestOpenDirSharded(t *testing.T) {
	dir := shardedDir(t)
	c, err := OpenDir(dir)
	require.NoError(t, err)

	var names []string
	for _, ti := range c.Tensors() {
		names = append(names, ti.Name)
	}
	assert.Equal(t, []string{tEmbed.Name, tQ.Name, tScale.Name, tNorm.Name, tIdx.Name}, names)

	for _, want := range []Tensor{tEmbed, tQ, tScale, tNorm} {
		got, err := c.Lookup(want.Name)
		require.NoError(t, err, want.Name)
		assert.Equal(t, want, got)
		assert.True(t, c.Has(want.Name))
	}
	shard, ok := c.Shard(tNorm.Name)
	assert.True(t, ok)
	assert.Equal(t, "model-00002-of-00002.safetensors", shard)
	assert.Equal(t, map[string]string{"format": "pt"}, c.Metadata())

	s, err := c.Lookup(tScale.Name)
	require.NoError(t, err)
	v, err := Float32s(s)
	require.NoError(t, err)
	assert.Equal(t, []float32{28.75}, v)

	_, err = c.Lookup(tIdx.Name)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, `tensor "position_ids": dtype I64`)
	assert.ErrorContains(t, err, "model-00001-of-00002.safetensors")
	assert.True(t, c.Has(tIdx.Name))

	_, err = c.Lookup("lm_head.weight")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorContains(t, err, `"lm_head.weight"`)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Lookup(tQ.Name)
	assert.ErrorContains(t, err, "closed")
	assert.False(t, c.Has(tQ.Name))
	assert.Nil(t, c.Tensors())
}

func TestOpenDirIndexIgnoresUnlisted(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.safetensors"), tEmbed, tQ)
	writeIndex(t, dir, map[string]string{tEmbed.Name: "a.safetensors"})
	// A stray model.safetensors is not read when the index exists.
	writeFile(t, filepath.Join(dir, SingleFileName), tNorm)
	c, err := OpenDir(dir)
	require.NoError(t, err)
	defer c.Close()
	assert.Len(t, c.Tensors(), 1)
	assert.False(t, c.Has(tQ.Name))
	assert.False(t, c.Has(tNorm.Name))
}

func TestOpenDirErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		is    []error
		msg   []string
	}{
		{
			name:  "empty dir",
			setup: func(t *testing.T, dir string) {},
			is:    []error{ErrMalformed, fs.ErrNotExist},
			msg:   []string{"neither model.safetensors nor model.safetensors.index.json"},
		},
		{
			name: "missing shard",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "s1.safetensors"), tEmbed)
				writeIndex(t, dir, map[string]string{tEmbed.Name: "s1.safetensors", tNorm.Name: "s2.safetensors"})
			},
			is:  []error{ErrMalformed, fs.ErrNotExist},
			msg: []string{`shard "s2.safetensors"`, `tensor "model.norm.weight"`, IndexFileName},
		},
		{
			name: "tensor absent from shard",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "s1.safetensors"), tEmbed)
				writeIndex(t, dir, map[string]string{tEmbed.Name: "s1.safetensors", tQ.Name: "s1.safetensors"})
			},
			is:  []error{ErrMalformed},
			msg: []string{`tensor "model.layers.0.self_attn.q_proj.weight" is listed for shard "s1.safetensors" but absent`},
		},
		{
			name: "malformed shard",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "s1.safetensors"), []byte("garbage!garbage"), 0o644))
				writeIndex(t, dir, map[string]string{tEmbed.Name: "s1.safetensors"})
			},
			is:  []error{ErrMalformed},
			msg: []string{"s1.safetensors", "header length"},
		},
		{
			name: "shard outside dir",
			setup: func(t *testing.T, dir string) {
				writeIndex(t, dir, map[string]string{tEmbed.Name: "../x.safetensors"})
			},
			is:  []error{ErrMalformed},
			msg: []string{`shard "../x.safetensors" is not a file name`},
		},
		{
			name: "index bad json",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, IndexFileName), []byte(`{"weight_map": {`), 0o644))
			},
			is:  []error{ErrMalformed},
			msg: []string{IndexFileName},
		},
		{
			name: "index without weight_map",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, IndexFileName), []byte(`{"metadata": {}}`), 0o644))
			},
			is:  []error{ErrMalformed},
			msg: []string{"no weight_map"},
		},
		{
			name: "index empty weight_map",
			setup: func(t *testing.T, dir string) {
				writeIndex(t, dir, map[string]string{})
			},
			is:  []error{ErrMalformed},
			msg: []string{"empty weight_map"},
		},
		{
			name: "index shard not string",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, IndexFileName), []byte(`{"weight_map": {"a": 1}}`), 0o644))
			},
			is:  []error{ErrMalformed},
			msg: []string{`weight_map "a": shard is not a string`},
		},
		{
			name: "index duplicate tensor",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, IndexFileName),
					[]byte(`{"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}}`), 0o644))
			},
			is:  []error{ErrMalformed},
			msg: []string{`duplicate key "a"`, IndexFileName},
		},
		{
			name: "single file malformed",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, SingleFileName), blob(`{"a":1}`, nil), 0o644))
			},
			is:  []error{ErrMalformed},
			msg: []string{SingleFileName, `tensor "a"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			c, err := OpenDir(dir)
			require.Error(t, err)
			assert.Nil(t, c)
			for _, want := range tc.is {
				assert.ErrorIs(t, err, want)
			}
			for _, m := range tc.msg {
				assert.ErrorContains(t, err, m)
			}
		})
	}
}
