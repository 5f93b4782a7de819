package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts is
// consistent (every tensor's data has its declared size and lies inside the
// input), and that writing the accepted tensors back gives a file Parse
// reads the same way.
func FuzzParse(f *testing.F) {
	// The golden files' headers, with just enough data bytes to be valid or
	// to fail late, and some hand-made files.
	for _, dir := range hfDirs {
		data, err := os.ReadFile(filepath.Join(dir, SingleFileName))
		if err != nil {
			f.Fatal(err)
		}
		n := binary.LittleEndian.Uint64(data)
		f.Add(data[:min(len(data), int(8+n)+64)])
	}
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{tEmbed, tQ, tScale, tNorm, tIdx}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(blob(`{}`, nil))
	f.Add(blob(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}`, make([]byte, 5)))
	f.Add(blob(`{"z":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil))
	f.Add(blob(`{"__metadata__":{"k":"v"},"s":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{1, 2}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		infos := file.Tensors()
		tensors := make([]Tensor, 0, len(infos))
		for _, ti := range infos {
			tn, ok := file.Tensor(ti.Name)
			if !ok {
				t.Fatalf("tensor %q listed but not found", ti.Name)
			}
			if len(tn.Data) != ti.NumElements()*ti.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for shape %v of %s", ti.Name, len(tn.Data), ti.Shape, ti.DType)
			}
			if ti.Offsets[1] > len(data) {
				t.Fatalf("tensor %q: offsets %v past the input", ti.Name, ti.Offsets)
			}
			if tn.DType == BF16 || tn.DType == F16 || tn.DType == F32 {
				if _, err := Float32s(tn); err != nil {
					t.Fatalf("tensor %q: %v", ti.Name, err)
				}
			}
			tensors = append(tensors, tn)
		}
		var buf bytes.Buffer
		if err := Write(&buf, tensors, file.Metadata()); err != nil {
			t.Fatalf("write back: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("parse written file: %v", err)
		}
		if len(again.Tensors()) != len(infos) {
			t.Fatalf("round trip: %d tensors, want %d", len(again.Tensors()), len(infos))
		}
		for _, want := range tensors {
			got, ok := again.Tensor(want.Name)
			if !ok || got.DType != want.DType || !bytes.Equal(got.Data, want.Data) || len(got.Shape) != len(want.Shape) {
				t.Fatalf("round trip changed tensor %q", want.Name)
			}
		}
	})
}
