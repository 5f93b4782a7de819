// Package gguf reads and writes GGUF files (versions 2 and 3), the container
// of llama.cpp and bitnet.cpp models.
//
// The reader works over the bytes of a whole file (normally a memory mapping)
// and never allocates more than the file's size: every count and length is
// checked against the bytes that remain before anything is allocated. Array
// values are decoded on demand.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/org/bitnet/internal/mmap"
)

// Magic is the first four bytes of a GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// Maximum dimensions of a tensor (ggml's GGML_MAX_DIMS).
const maxDims = 4

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("malformed GGUF")

// ErrUnsupported is wrapped by errors about well-formed files this package
// cannot read (an old version, an unknown tensor type).
var ErrUnsupported = errors.New("unsupported GGUF")

// FormatError describes a malformed or unsupported part of a file.
type FormatError struct {
	Offset int64  // byte offset where the problem was found
	What   string // the key, tensor or field concerned
	Msg    string
	Err    error // ErrFormat or ErrUnsupported
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s at byte %d: %s: %s", e.Err, e.Offset, e.What, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Value is a metadata value. Scalars are decoded; arrays are kept as a view
// of the file and decoded by the accessors.
type Value struct {
	Type     ValueType
	ElemType ValueType // for arrays
	Count    int       // for arrays: number of elements
	scalar   uint64    // integer, bool or float bits
	str      string
	raw      []byte // for arrays: the encoded elements
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ne: Dims[0] is the contiguous dimension
	Type   TensorType
	Offset uint64 // relative to the data section
	Size   uint64 // bytes
}

// Elements returns the number of elements.
func (t *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a parsed GGUF file.
type File struct {
	Version    uint32
	KVs        []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64 // file offset of the data section

	data    []byte
	kvIndex map[string]int
	tIndex  map[string]int
	mapping *mmap.Mapping
}

// Open maps the named file and parses it. Close releases the mapping.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(m.Data())
	if err != nil {
		m.Close()
		return nil, err
	}
	f.mapping = m
	return f, nil
}

// Close releases the file's mapping, if it has one. Tensor data must not be
// used afterwards.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	err := f.mapping.Close()
	f.mapping = nil
	f.data = nil
	return err
}

// Bytes returns the whole file.
func (f *File) Bytes() []byte { return f.data }

// Lookup returns the value stored under key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// Has reports whether key is present.
func (f *File) Has(key string) bool { _, ok := f.kvIndex[key]; return ok }

// Tensor returns the named tensor's description.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of a tensor, a view into the file.
func (f *File) TensorData(t *TensorInfo) []byte {
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size]
}

// Parse reads a GGUF file held in data. The File refers to data; it must
// stay unchanged while the File is used.
func Parse(data []byte) (*File, error) {
	r := &reader{data: data}
	magic := r.bytes(4, "magic")
	if r.err != nil {
		return nil, r.err
	}
	if string(magic) != Magic {
		return nil, r.fail(0, "magic", fmt.Sprintf("got %q, want %q", magic, Magic))
	}
	f := &File{data: data, Alignment: DefaultAlignment}
	f.Version = r.u32("version")
	if r.err == nil && (f.Version < 2 || f.Version > 3) {
		return nil, &FormatError{Offset: 4, What: "version", Msg: fmt.Sprintf("version %d (want 2 or 3)", f.Version), Err: ErrUnsupported}
	}
	nTensors := r.u64("tensor count")
	nKV := r.u64("metadata count")
	if r.err != nil {
		return nil, r.err
	}
	// Every KV takes at least 8+4+1 bytes and every tensor info 8+4+8+4+8:
	// counts above what the file can hold are rejected before allocating.
	if nKV > uint64(r.remaining())/13 {
		return nil, r.fail(16, "metadata count", fmt.Sprintf("%d entries cannot fit in %d bytes", nKV, len(data)))
	}
	if nTensors > uint64(r.remaining())/32 {
		return nil, r.fail(8, "tensor count", fmt.Sprintf("%d tensors cannot fit in %d bytes", nTensors, len(data)))
	}
	f.KVs = make([]KV, 0, nKV)
	f.kvIndex = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		off := r.off
		key := r.str("metadata key")
		if r.err != nil {
			return nil, r.err
		}
		v := r.value(key, 0)
		if r.err != nil {
			return nil, r.err
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, r.fail(off, key, "duplicate key")
		}
		f.kvIndex[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{Key: key, Value: v})
	}
	if v, ok := f.Lookup("general.alignment"); ok {
		a, isInt := v.Uint()
		if !isInt || a == 0 || a&(a-1) != 0 || a > 1<<20 {
			return nil, r.fail(0, "general.alignment", fmt.Sprintf("%v is not a power of two up to 1 MiB", v))
		}
		f.Alignment = a
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tIndex = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		off := r.off
		t := r.tensorInfo()
		if r.err != nil {
			return nil, r.err
		}
		if _, dup := f.tIndex[t.Name]; dup {
			return nil, r.fail(off, "tensor "+t.Name, "duplicate tensor name")
		}
		f.tIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = alignUp(uint64(r.off), f.Alignment)
	if err := f.checkTensorData(); err != nil {
		return nil, err
	}
	return f, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// checkTensorData verifies that every tensor lies inside the file, is
// aligned, and does not overlap another.
func (f *File) checkTensorData() error {
	if len(f.Tensors) == 0 {
		return nil
	}
	size := uint64(len(f.data))
	if f.DataOffset > size {
		return &FormatError{Offset: int64(size), What: "data section", Msg: "file ends before the tensor data", Err: ErrFormat}
	}
	avail := size - f.DataOffset
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	for _, i := range order {
		t := &f.Tensors[i]
		if t.Offset%f.Alignment != 0 {
			return &FormatError{Offset: int64(f.DataOffset), What: "tensor " + t.Name, Msg: fmt.Sprintf("data offset %d is not a multiple of the alignment %d", t.Offset, f.Alignment), Err: ErrFormat}
		}
		if t.Offset > avail || t.Size > avail-t.Offset {
			return &FormatError{Offset: int64(f.DataOffset), What: "tensor " + t.Name, Msg: fmt.Sprintf("data [%d, +%d) runs past the end of the file (%d data bytes)", t.Offset, t.Size, avail), Err: ErrFormat}
		}
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		prev, cur := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if prev.Offset+prev.Size > cur.Offset && prev.Size > 0 && cur.Size > 0 {
			return &FormatError{Offset: int64(f.DataOffset + cur.Offset), What: "tensor " + cur.Name, Msg: "data overlaps tensor " + prev.Name, Err: ErrFormat}
		}
	}
	return nil
}

type reader struct {
	data []byte
	off  int
	err  error
}

func (r *reader) remaining() int { return len(r.data) - r.off }

func (r *reader) fail(off int, what, msg string) error {
	if r.err == nil {
		r.err = &FormatError{Offset: int64(off), What: what, Msg: msg, Err: ErrFormat}
	}
	return r.err
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail(r.off, what, fmt.Sprintf("needs %d bytes, file has %d left (truncated?)", n, r.remaining()))
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u32(what string) uint32 {
	b := r.bytes(4, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64(what string) uint64 {
	b := r.bytes(8, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// strBytes reads a length-prefixed string without copying it.
func (r *reader) strBytes(what string) []byte {
	off := r.off
	if r.err != nil {
		return nil
	}
	if r.remaining() < 8 {
		r.fail(off, what, fmt.Sprintf("string length needs 8 bytes, file has %d left (truncated?)", r.remaining()))
		return nil
	}
	n := binary.LittleEndian.Uint64(r.data[off:])
	r.off += 8
	if n > uint64(r.remaining()) {
		r.fail(off, what, fmt.Sprintf("string length %d exceeds the %d bytes left", n, r.remaining()))
		return nil
	}
	return r.bytes(int(n), what)
}

func (r *reader) str(what string) string { return string(r.strBytes(what)) }

func (r *reader) value(key string, depth int) Value {
	off := r.off
	t := ValueType(r.u32(key + " type"))
	if r.err != nil {
		return Value{}
	}
	v := Value{Type: t}
	switch {
	case t == TypeString:
		v.str = r.str(key)
	case t == TypeArray:
		if depth > 0 {
			r.fail(off, key, "nested arrays are not supported")
			return Value{}
		}
		v.ElemType = ValueType(r.u32(key + " element type"))
		n := r.u64(key + " element count")
		if r.err != nil {
			return Value{}
		}
		start := r.off
		switch es := v.ElemType.fixedSize(); {
		case es > 0:
			if n > uint64(r.remaining()/es) {
				r.fail(off, key, fmt.Sprintf("array of %d %s exceeds the %d bytes left", n, v.ElemType, r.remaining()))
				return Value{}
			}
			r.off += int(n) * es
		case v.ElemType == TypeString:
			if n > uint64(r.remaining()/8) {
				r.fail(off, key, fmt.Sprintf("array of %d strings exceeds the %d bytes left", n, r.remaining()))
				return Value{}
			}
			for i := uint64(0); i < n && r.err == nil; i++ {
				r.strBytes(key)
			}
		default:
			r.fail(off, key, fmt.Sprintf("unknown array element type %d", uint32(v.ElemType)))
		}
		if r.err != nil {
			return Value{}
		}
		v.Count = int(n)
		v.raw = r.data[start:r.off]
	default:
		size := t.fixedSize()
		if size == 0 {
			r.fail(off, key, fmt.Sprintf("unknown value type %d", uint32(t)))
			return Value{}
		}
		b := r.bytes(size, key)
		if b == nil {
			return Value{}
		}
		v.scalar = decodeScalar(t, b)
	}
	return v
}

// decodeScalar returns integers sign-extended to 64 bits, floats as
// float64 bits, bools as 0 or 1.
func decodeScalar(t ValueType, b []byte) uint64 {
	switch t {
	case TypeUint8:
		return uint64(b[0])
	case TypeInt8:
		return uint64(int64(int8(b[0])))
	case TypeBool:
		if b[0] != 0 {
			return 1
		}
		return 0
	case TypeUint16:
		return uint64(binary.LittleEndian.Uint16(b))
	case TypeInt16:
		return uint64(int64(int16(binary.LittleEndian.Uint16(b))))
	case TypeUint32:
		return uint64(binary.LittleEndian.Uint32(b))
	case TypeInt32:
		return uint64(int64(int32(binary.LittleEndian.Uint32(b))))
	case TypeFloat32:
		return math.Float64bits(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
	case TypeUint64, TypeInt64:
		return binary.LittleEndian.Uint64(b)
	case TypeFloat64:
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) tensorInfo() TensorInfo {
	off := r.off
	name := r.str("tensor name")
	what := "tensor " + name
	nd := r.u32(what + " dimension count")
	if r.err != nil {
		return TensorInfo{}
	}
	if nd == 0 || nd > maxDims {
		r.fail(off, what, fmt.Sprintf("%d dimensions (want 1 to %d)", nd, maxDims))
		return TensorInfo{}
	}
	t := TensorInfo{Name: name, Dims: make([]uint64, nd)}
	n := uint64(1)
	for i := range t.Dims {
		d := r.u64(what + " dimension")
		if r.err != nil {
			return TensorInfo{}
		}
		if d == 0 || d > 1<<40 || n > (1<<50)/d {
			r.fail(off, what, fmt.Sprintf("dimension %d of %d is out of range", i, d))
			return TensorInfo{}
		}
		t.Dims[i] = d
		n *= d
	}
	t.Type = TensorType(r.u32(what + " type"))
	t.Offset = r.u64(what + " offset")
	if r.err != nil {
		return TensorInfo{}
	}
	if !t.Type.Known() {
		r.err = &FormatError{Offset: int64(off), What: what, Msg: fmt.Sprintf("unknown tensor type %d", uint32(t.Type)), Err: ErrUnsupported}
		return TensorInfo{}
	}
	size, ok := t.Type.Size(n)
	if !ok {
		r.fail(off, what, fmt.Sprintf("%d elements is not a whole number of %s blocks of %d", n, t.Type, t.Type.BlockSize()))
		return TensorInfo{}
	}
	if t.Type.BlockSize() > 1 && t.Dims[0]%uint64(t.Type.BlockSize()) != 0 && t.Type != I2_S {
		r.fail(off, what, fmt.Sprintf("row length %d is not a multiple of the %s block size %d", t.Dims[0], t.Type, t.Type.BlockSize()))
		return TensorInfo{}
	}
	t.Size = size
	return t
}
