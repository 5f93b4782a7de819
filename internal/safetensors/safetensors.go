// Package safetensors reads and writes the safetensors format used by
// Hugging Face checkpoints.
//
// A file is an 8-byte little-endian header length N, then N bytes of JSON,
// then the data section. The JSON maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]}, with offsets relative to
// the start of the data section; an optional "__metadata__" entry maps
// strings to strings. Parse validates all of it before returning: the header
// length, the JSON, every offset, dtype and shape, that byte sizes match
// the shapes, and that no two tensors share a name or overlap.
//
// Tensor data is never copied: a [Tensor]'s Data slices the mapped file and
// is valid until the [File] or [Checkpoint] it came from is closed. A File or
// Checkpoint is safe for concurrent use, except for Close.
//
// Errors wrap [ErrMalformed] (the file breaks the format), [ErrUnsupported]
// (a valid file using something this package does not read) or
// [ErrNotFound] (no tensor of that name), so callers can tell them apart with
// errors.Is.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/org/bitnet/internal/mmap"
)

// Sentinel errors. Errors from this package wrap one of them.
var (
	// ErrMalformed is wrapped by errors about files that break the format:
	// a bad header length, invalid JSON, offsets out of range or
	// overlapping, a byte size that does not match the shape, duplicate
	// names, a missing shard.
	ErrMalformed = errors.New("safetensors: malformed file")
	// ErrUnsupported is wrapped by errors about valid files that use a dtype
	// this package does not read.
	ErrUnsupported = errors.New("safetensors: unsupported")
	// ErrNotFound is wrapped by errors about a tensor name that is not in
	// the file or checkpoint.
	ErrNotFound = errors.New("safetensors: tensor not found")
)

// MaxHeaderSize is the largest JSON header Parse accepts, in bytes. It is
// the limit of the reference implementation (100 MB).
const MaxHeaderSize = 100_000_000

// metadataKey is the header entry that holds free-form string metadata.
const metadataKey = "__metadata__"

// DType is a safetensors element type, as spelled in the header.
type DType string

// The element types this package converts and hands out through
// [Checkpoint.Lookup]. Files may contain other standard dtypes (I64, F64,
// BOOL, ...): they are validated, listed and returned by [File.Tensor], and
// Lookup reports them as ErrUnsupported.
const (
	U8   DType = "U8"   // unsigned byte
	I8   DType = "I8"   // signed byte
	BF16 DType = "BF16" // bfloat16, little-endian
	F16  DType = "F16"  // IEEE 754 half precision, little-endian
	F32  DType = "F32"  // IEEE 754 single precision, little-endian
)

// dtypeSizes holds the element size in bytes of every whole-byte dtype of
// the safetensors specification.
var dtypeSizes = map[DType]int{
	"BOOL": 1, U8: 1, I8: 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"U16": 2, "I16": 2, F16: 2, BF16: 2,
	"U32": 4, "I32": 4, F32: 4,
	"U64": 8, "I64": 8, "F64": 8, "C64": 8,
}

// Size returns the size of one element in bytes, or 0 for a dtype this
// package does not know.
func (d DType) Size() int { return dtypeSizes[d] }

// Supported reports whether d is one of U8, I8, BF16, F16 and F32, the
// dtypes [Checkpoint.Lookup] hands out.
func (d DType) Supported() bool {
	switch d {
	case U8, I8, BF16, F16, F32:
		return true
	}
	return false
}

// TensorInfo describes one tensor of a header.
type TensorInfo struct {
	Name  string
	DType DType
	// Shape lists the dimensions, outermost first (row-major); empty for a
	// scalar.
	Shape []int
	// Offsets are [begin, end) in bytes, relative to the data section.
	Offsets [2]int
}

// NumElements returns the product of the shape (1 for a scalar).
func (ti TensorInfo) NumElements() int { return product(ti.Shape) }

// Tensor is a tensor's description and its bytes.
type Tensor struct {
	Name  string
	DType DType
	// Shape lists the dimensions, outermost first (row-major); empty for a
	// scalar.
	Shape []int
	// Data is the little-endian element data, len = NumElements × DType.Size.
	// For tensors read from a file it slices the file's mapping: do not
	// modify it, and do not use it after Close.
	Data []byte
}

// NumElements returns the product of the shape (1 for a scalar). Shapes read
// by this package never overflow; for a hand-built shape that does, it
// returns -1.
func (t Tensor) NumElements() int { return product(t.Shape) }

// File is one parsed safetensors file.
type File struct {
	tensors  []TensorInfo   // sorted by name
	byName   map[string]int // index into tensors
	metadata map[string]string
	data     []byte // the data section
	m        *mmap.Mapping
}

// Open maps the named file read-only and parses it. Errors name the path.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(m.Data())
	if err != nil {
		m.Close()
		return nil, withPath(err, path)
	}
	f.m = m
	return f, nil
}

// Parse parses a whole safetensors file held in data. The File refers to data
// without copying it; data must not change while the File is in use.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, malformed("file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	switch {
	case n > MaxHeaderSize:
		return nil, malformed("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	case n > uint64(len(data)-8):
		return nil, malformed("header length %d runs past the end of the file (%d bytes)", n, len(data))
	case n < 2:
		return nil, malformed("header length %d is too short for a JSON object", n)
	}
	header := data[8 : 8+n]
	f := &File{
		byName: make(map[string]int),
		data:   data[8+n:],
	}
	err := decodeObject(header, func(key string, raw json.RawMessage) error {
		if key == metadataKey {
			return f.parseMetadata(raw)
		}
		ti, err := parseEntry(key, raw, len(f.data))
		if err != nil {
			return err
		}
		f.tensors = append(f.tensors, ti)
		return nil
	})
	if err != nil {
		var fe *formatError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, malformed("header: %v", err)
	}
	if err := checkOverlap(f.tensors); err != nil {
		return nil, err
	}
	slices.SortFunc(f.tensors, func(a, b TensorInfo) int { return strings.Compare(a.Name, b.Name) })
	for i, ti := range f.tensors {
		f.byName[ti.Name] = i
	}
	return f, nil
}

// parseMetadata decodes the __metadata__ entry: an object of strings, or null.
func (f *File) parseMetadata(raw json.RawMessage) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	md := make(map[string]string)
	err := decodeObject(raw, func(key string, v json.RawMessage) error {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return malformed("__metadata__ %q: value is not a string", key)
		}
		md[key] = s
		return nil
	})
	if err != nil {
		var fe *formatError
		if errors.As(err, &fe) {
			return err
		}
		return malformed("__metadata__: %v", err)
	}
	f.metadata = md
	return nil
}

// headerEntry is one tensor entry of the JSON header. Pointers tell a missing
// field from a zero one.
type headerEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseEntry decodes and checks one tensor entry against a data section of
// dataLen bytes.
func parseEntry(name string, raw json.RawMessage, dataLen int) (TensorInfo, error) {
	if name == "" {
		return TensorInfo{}, malformed("tensor with an empty name")
	}
	var e headerEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return TensorInfo{}, malformed("tensor %q: %v", name, err)
	}
	switch {
	case e.DType == nil:
		return TensorInfo{}, malformed("tensor %q: no dtype", name)
	case e.Shape == nil:
		return TensorInfo{}, malformed("tensor %q: no shape", name)
	case e.DataOffsets == nil:
		return TensorInfo{}, malformed("tensor %q: no data_offsets", name)
	case len(*e.DataOffsets) != 2:
		return TensorInfo{}, malformed("tensor %q: data_offsets has %d values, want 2", name, len(*e.DataOffsets))
	}
	begin, end := (*e.DataOffsets)[0], (*e.DataOffsets)[1]
	switch {
	case begin < 0 || end < 0:
		return TensorInfo{}, malformed("tensor %q: negative data_offsets [%d, %d]", name, begin, end)
	case begin > end:
		return TensorInfo{}, malformed("tensor %q: data_offsets [%d, %d] begin after end", name, begin, end)
	case end > int64(dataLen):
		return TensorInfo{}, malformed("tensor %q: data_offsets [%d, %d] past the data section (%d bytes)", name, begin, end, dataLen)
	}
	shape := make([]int, len(*e.Shape))
	for i, d := range *e.Shape {
		if d < 0 || d > math.MaxInt {
			return TensorInfo{}, malformed("tensor %q: shape %v: dimension %d out of range", name, *e.Shape, d)
		}
		shape[i] = int(d)
	}
	dt := DType(*e.DType)
	size := dt.Size()
	if size == 0 {
		return TensorInfo{}, unsupported("tensor %q: dtype %q", name, *e.DType)
	}
	nbytes, ok := byteSize(shape, size)
	if !ok {
		return TensorInfo{}, malformed("tensor %q: shape %v of %s overflows", name, shape, dt)
	}
	if int64(nbytes) != end-begin {
		return TensorInfo{}, malformed("tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d",
			name, shape, dt, nbytes, begin, end, end-begin)
	}
	return TensorInfo{Name: name, DType: dt, Shape: shape, Offsets: [2]int{int(begin), int(end)}}, nil
}

// checkOverlap reports two tensors whose byte ranges overlap. Empty tensors
// occupy no bytes and never overlap.
func checkOverlap(tensors []TensorInfo) error {
	idx := make([]int, 0, len(tensors))
	for i, ti := range tensors {
		if ti.Offsets[1] > ti.Offsets[0] {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		return tensors[a].Offsets[0] - tensors[b].Offsets[0]
	})
	for k := 1; k < len(idx); k++ {
		prev, cur := tensors[idx[k-1]], tensors[idx[k]]
		if cur.Offsets[0] < prev.Offsets[1] {
			return malformed("tensors %q %v and %q %v overlap", prev.Name, prev.Offsets, cur.Name, cur.Offsets)
		}
	}
	return nil
}

// decodeObject walks a JSON object, calling fn for each member in order. It
// rejects duplicate keys and anything after the object but white space.
func decodeObject(data []byte, fn func(key string, raw json.RawMessage) error) error {
	err := walkObject(data, fn)
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func walkObject(data []byte, fn func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("not a JSON object")
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key is not a string")
		}
		if seen[key] {
			return malformed("duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("key %q: %w", key, err)
		}
		if err := fn(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

// Tensors returns a description of every tensor, sorted by name. The slice is
// the caller's; the shapes are shared and must not be modified.
func (f *File) Tensors() []TensorInfo { return slices.Clone(f.tensors) }

// Tensor returns the named tensor, whatever its dtype, and whether it exists.
func (f *File) Tensor(name string) (Tensor, bool) {
	i, ok := f.byName[name]
	if !ok {
		return Tensor{}, false
	}
	ti := f.tensors[i]
	return Tensor{
		Name:  ti.Name,
		DType: ti.DType,
		Shape: ti.Shape,
		Data:  f.data[ti.Offsets[0]:ti.Offsets[1]:ti.Offsets[1]],
	}, true
}

// Metadata returns the header's __metadata__ (nil when there is none). The
// map is shared and must not be modified.
func (f *File) Metadata() map[string]string { return f.metadata }

// Close releases the file's mapping, if Open made one. Tensor data from the
// File must not be used afterwards. It is safe to call more than once.
func (f *File) Close() error {
	if f == nil || f.m == nil {
		return nil
	}
	m := f.m
	f.m = nil
	f.data = nil
	f.tensors = nil
	f.byName = nil
	return m.Close()
}

// product returns the product of dims (1 for none), or -1 on overflow.
func product(dims []int) int {
	n, ok := byteSize(dims, 1)
	if !ok {
		return -1
	}
	return n
}

// byteSize returns product(dims) × size and false if a dimension is negative
// or the product overflows an int.
func byteSize(dims []int, size int) (int, bool) {
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
	}
	if slices.Contains(dims, 0) {
		return 0, true
	}
	n := size
	for _, d := range dims {
		if n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// formatError is an error about a file's content. It wraps ErrMalformed or
// ErrUnsupported (kind), and names the file when one is known.
type formatError struct {
	kind error
	path string
	msg  string
	err  error // an extra wrapped cause (an fs error), or nil
}

func (e *formatError) Error() string {
	s := "safetensors: "
	if e.path != "" {
		s += e.path + ": "
	}
	s += e.msg
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *formatError) Unwrap() []error {
	if e.err != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.kind}
}

func malformed(format string, args ...any) error {
	return &formatError{kind: ErrMalformed, msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &formatError{kind: ErrUnsupported, msg: fmt.Sprintf(format, args...)}
}

// withPath sets the file name of a formatError that has none.
func withPath(err error, path string) error {
	var fe *formatError
	if errors.As(err, &fe) && fe.path == "" {
		fe.path = path
	}
	return err
}
