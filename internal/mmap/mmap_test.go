package mmap

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, mmap")},
		{"page", make([]byte, 1<<16+3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(p, tc.data, 0o644))
			m, err := Open(p)
			require.NoError(t, err)
			require.Equal(t, len(tc.data), m.Len())
			if len(tc.data) > 0 {
				require.Equal(t, tc.data, m.Data())
			}
			require.NoError(t, m.Close())
			require.NoError(t, m.Close())
			require.Nil(t, m.Data())
		})
	}
	_, err := Open(filepath.Join(dir, "missing"))
	require.Error(t, err)
	_, err = Open(dir)
	require.Error(t, err)
}
