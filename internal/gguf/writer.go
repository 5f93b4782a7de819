package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Writer builds a GGUF file: metadata in the order it is set, then tensor
// infos and aligned tensor data in the order they are added.
type Writer struct {
	Version   uint32 // default 3
	Alignment uint64 // default 32; also written as general.alignment when not 32

	kvs     []KV
	kvIndex map[string]int
	tensors []writerTensor
}

type writerTensor struct {
	info  TensorInfo
	data  []byte
	write func(io.Writer) error
}

// NewWriter returns an empty GGUF v3 writer.
func NewWriter() *Writer {
	return &Writer{Version: 3, Alignment: DefaultAlignment, kvIndex: map[string]int{}}
}

// Set stores a metadata value. Supported Go types: uint8, int8, uint16,
// int16, uint32, int32, uint64, int64, int (as i32), float32, float64, bool,
// string, and slices of those (int as i32). Setting a key again replaces it
// in place.
func (w *Writer) Set(key string, value any) {
	v, err := encodeValue(value)
	if err != nil {
		panic(fmt.Sprintf("gguf: key %s: %v", key, err))
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
}

// Delete removes a metadata key.
func (w *Writer) Delete(key string) {
	i, ok := w.kvIndex[key]
	if !ok {
		return
	}
	w.kvs = append(w.kvs[:i], w.kvs[i+1:]...)
	delete(w.kvIndex, key)
	for k, j := range w.kvIndex {
		if j > i {
			w.kvIndex[k] = j - 1
		}
	}
}

// SetValue stores a Value read from another file (copying metadata).
func (w *Writer) SetValue(key string, v Value) {
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
}

// AddTensor adds a tensor with its encoded data. dims[0] is the contiguous
// dimension. The data length must match the type's size rule.
func (w *Writer) AddTensor(name string, typ TensorType, dims []uint64, data []byte) {
	w.addTensor(name, typ, dims, uint64(len(data)), data, nil)
}

// AddTensorFunc adds a tensor whose data of the given size is produced by
// write when the file is written (for files too large to hold in memory).
func (w *Writer) AddTensorFunc(name string, typ TensorType, dims []uint64, size uint64, write func(io.Writer) error) {
	w.addTensor(name, typ, dims, size, nil, write)
}

func (w *Writer) addTensor(name string, typ TensorType, dims []uint64, size uint64, data []byte, write func(io.Writer) error) {
	info := TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Size: size}
	if want, ok := typ.Size(info.Elements()); !ok || want != size {
		panic(fmt.Sprintf("gguf: tensor %s: %d bytes for %d elements of %s (want %d)", name, size, info.Elements(), typ, want))
	}
	w.tensors = append(w.tensors, writerTensor{info: info, data: data, write: write})
}

// WriteFile writes the file to path.
func (w *Writer) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteTo writes the whole file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	align := w.Alignment
	if align == 0 {
		align = DefaultAlignment
	}
	if align != DefaultAlignment {
		w.Set("general.alignment", uint32(align))
	}
	cw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	le := binary.LittleEndian
	put32 := func(v uint32) { cw.Write(le.AppendUint32(nil, v)) }
	put64 := func(v uint64) { cw.Write(le.AppendUint64(nil, v)) }
	putStr := func(s string) { put64(uint64(len(s))); io.WriteString(cw, s) }

	cw.Write([]byte(Magic))
	put32(w.Version)
	put64(uint64(len(w.tensors)))
	put64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		putStr(kv.Key)
		put32(uint32(kv.Value.Type))
		writeValue(cw, kv.Value)
	}
	off := uint64(0)
	for i := range w.tensors {
		t := &w.tensors[i]
		t.info.Offset = off
		putStr(t.info.Name)
		put32(uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			put64(d)
		}
		put32(uint32(t.info.Type))
		put64(off)
		off = alignUp(off+t.info.Size, align)
	}
	pad := func() {
		if n := alignUp(uint64(cw.n), align) - uint64(cw.n); n > 0 {
			cw.Write(make([]byte, n))
		}
	}
	pad()
	for _, t := range w.tensors {
		start := cw.n
		if t.write != nil {
			if err := t.write(cw); err != nil {
				return cw.n, err
			}
		} else {
			cw.Write(t.data)
		}
		if uint64(cw.n-start) != t.info.Size && cw.err == nil {
			return cw.n, fmt.Errorf("gguf: tensor %s: wrote %d bytes, want %d", t.info.Name, cw.n-start, t.info.Size)
		}
		pad()
	}
	if cw.err != nil {
		return cw.n, cw.err
	}
	return cw.n, cw.w.(*bufio.Writer).Flush()
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func writeValue(w io.Writer, v Value) {
	le := binary.LittleEndian
	switch {
	case v.Type == TypeString:
		w.Write(le.AppendUint64(nil, uint64(len(v.str))))
		io.WriteString(w, v.str)
	case v.Type == TypeArray:
		w.Write(le.AppendUint32(nil, uint32(v.ElemType)))
		w.Write(le.AppendUint64(nil, uint64(v.Count)))
		w.Write(v.raw)
	default:
		var b [8]byte
		le.PutUint64(b[:], v.scalar)
		if v.Type == TypeFloat32 {
			le.PutUint32(b[:], math.Float32bits(float32(math.Float64frombits(v.scalar))))
		}
		w.Write(b[:v.Type.fixedSize()])
	}
}

func scalarValue(t ValueType, bits uint64) Value { return Value{Type: t, scalar: bits} }

func encodeScalar(x any) (Value, bool) {
	switch x := x.(type) {
	case uint8:
		return scalarValue(TypeUint8, uint64(x)), true
	case int8:
		return scalarValue(TypeInt8, uint64(int64(x))), true
	case uint16:
		return scalarValue(TypeUint16, uint64(x)), true
	case int16:
		return scalarValue(TypeInt16, uint64(int64(x))), true
	case uint32:
		return scalarValue(TypeUint32, uint64(x)), true
	case int32:
		return scalarValue(TypeInt32, uint64(int64(x))), true
	case int:
		return scalarValue(TypeInt32, uint64(int64(int32(x)))), true
	case uint64:
		return scalarValue(TypeUint64, x), true
	case int64:
		return scalarValue(TypeInt64, uint64(x)), true
	case float32:
		return scalarValue(TypeFloat32, math.Float64bits(float64(x))), true
	case float64:
		return scalarValue(TypeFloat64, math.Float64bits(x)), true
	case bool:
		if x {
			return scalarValue(TypeBool, 1), true
		}
		return scalarValue(TypeBool, 0), true
	case string:
		return Value{Type: TypeString, str: x}, true
	}
	return Value{}, false
}

func encodeValue(x any) (Value, error) {
	if v, ok := encodeScalar(x); ok {
		return v, nil
	}
	var elems []any
	switch x := x.(type) {
	case []string:
		elems = toAny(x)
	case []uint8:
		elems = toAny(x)
	case []int8:
		elems = toAny(x)
	case []uint16:
		elems = toAny(x)
	case []int16:
		elems = toAny(x)
	case []uint32:
		elems = toAny(x)
	case []int32:
		elems = toAny(x)
	case []int:
		elems = toAny(x)
	case []uint64:
		elems = toAny(x)
	case []int64:
		elems = toAny(x)
	case []float32:
		elems = toAny(x)
	case []float64:
		elems = toAny(x)
	case []bool:
		elems = toAny(x)
	default:
		return Value{}, fmt.Errorf("unsupported value type %T", x)
	}
	v := Value{Type: TypeArray, Count: len(elems)}
	probe, _ := encodeScalar(zeroOf(x))
	v.ElemType = probe.Type
	var buf []byte
	for _, e := range elems {
		ev, _ := encodeScalar(e)
		bw := &sliceWriter{buf: buf}
		writeValue(bw, ev)
		buf = bw.buf
	}
	v.raw = buf
	return v, nil
}

func zeroOf(x any) any {
	switch x.(type) {
	case []string:
		return ""
	case []uint8:
		return uint8(0)
	case []int8:
		return int8(0)
	case []uint16:
		return uint16(0)
	case []int16:
		return int16(0)
	case []uint32:
		return uint32(0)
	case []int32, []int:
		return int32(0)
	case []uint64:
		return uint64(0)
	case []int64:
		return int64(0)
	case []float32:
		return float32(0)
	case []float64:
		return float64(0)
	case []bool:
		return false
	}
	return nil
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

type sliceWriter struct{ buf []byte }

func (s *sliceWriter) Write(p []byte) (int, error) { s.buf = append(s.buf, p...); return len(p), nil }

// DropTensor removes a tensor added earlier.
func (w *Writer) DropTensor(name string) {
	for i, t := range w.tensors {
		if t.info.Name == name {
			w.tensors = append(w.tensors[:i], w.tensors[i+1:]...)
			return
		}
	}
}
