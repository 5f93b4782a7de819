package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// ToFloat32 converts the elements of a BF16, F16 or F32 tensor to float32
// into dst, which must hold exactly t.NumElements() values. Other dtypes give
// an error wrapping ErrUnsupported; data whose length does not match the shape
// gives one wrapping ErrMalformed.
func ToFloat32(dst []float32, t Tensor) error {
	n := t.NumElements()
	if n < 0 {
		return &formatError{kind: ErrMalformed, msg: fmt.Sprintf("tensor %q: shape %v overflows", t.Name, t.Shape)}
	}
	size := t.DType.Size()
	switch t.DType {
	case BF16, F16, F32:
	default:
		return &formatError{kind: ErrUnsupported, msg: fmt.Sprintf("tensor %q: dtype %s does not convert to float32", t.Name, t.DType)}
	}
	if len(t.Data) != n*size {
		return &formatError{kind: ErrMalformed, msg: fmt.Sprintf("tensor %q: %d data bytes for shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)}
	}
	if len(dst) != n {
		return fmt.Errorf("safetensors: tensor %q: destination holds %d values, want %d", t.Name, len(dst), n)
	}
	src := t.Data
	switch t.DType {
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case F16:
		for i := range dst {
			dst[i] = float16.Frombits(binary.LittleEndian.Uint16(src[2*i:])).Float32()
		}
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	}
	return nil
}

// Float32s returns the elements of a BF16, F16 or F32 tensor as a new float32
// slice. Errors are those of ToFloat32.
func Float32s(t Tensor) ([]float32, error) {
	n := t.NumElements()
	if n < 0 || (t.DType.Size() > 0 && len(t.Data) != n*t.DType.Size()) {
		// Let ToFloat32 report it without allocating n values.
		return nil, ToFloat32(nil, t)
	}
	dst := make([]float32, n)
	if err := ToFloat32(dst, t); err != nil {
		return nil, err
	}
	return dst, nil
}
