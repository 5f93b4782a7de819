package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// Write writes tensors as one safetensors file, their data laid out in the
// order given, with the header padded with spaces to a multiple of 8 bytes
// (as the reference writer does). metadata, when not empty, becomes the
// __metadata__ entry. Each tensor needs a unique non-empty name, a dtype of
// known size (any standard whole-byte dtype) and exactly
// NumElements × DType.Size data bytes.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	type entry struct {
		DType       DType  `json:"dtype"`
		Shape       []int  `json:"shape"`
		DataOffsets [2]int `json:"data_offsets"`
	}
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header[metadataKey] = metadata
	}
	off := 0
	for _, t := range tensors {
		if t.Name == "" || t.Name == metadataKey {
			return fmt.Errorf("safetensors: write: invalid tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: write: duplicate tensor %q", t.Name)
		}
		size := t.DType.Size()
		if size == 0 {
			return fmt.Errorf("safetensors: write: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		n, ok := byteSize(t.Shape, size)
		if !ok || n != len(t.Data) {
			return fmt.Errorf("safetensors: write: tensor %q: shape %v of %s needs %d bytes, have %d",
				t.Name, t.Shape, t.DType, n, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{DType: t.DType, Shape: shape, DataOffsets: [2]int{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(js); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write: %w", err)
		}
	}
	return nil
}
