package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Uint returns an integer value of any integer type as uint64. Negative
// values are reported as not ok.
func (v Value) Uint() (uint64, bool) {
	if !v.Type.isInt() {
		return 0, false
	}
	if (v.Type == TypeInt8 || v.Type == TypeInt16 || v.Type == TypeInt32 || v.Type == TypeInt64) && int64(v.scalar) < 0 {
		return 0, false
	}
	return v.scalar, true
}

// Int returns an integer value of any integer type as int64. A u64 above
// the int64 range is reported as not ok.
func (v Value) Int() (int64, bool) {
	if !v.Type.isInt() {
		return 0, false
	}
	if v.Type == TypeUint64 && v.scalar > math.MaxInt64 {
		return 0, false
	}
	return int64(v.scalar), true
}

// Float returns an f32 or f64 value (integers are converted too).
func (v Value) Float() (float64, bool) {
	switch {
	case v.Type == TypeFloat32 || v.Type == TypeFloat64:
		return math.Float64frombits(v.scalar), true
	case v.Type.isInt():
		if i, ok := v.Int(); ok {
			return float64(i), true
		}
		return float64(v.scalar), true
	}
	return 0, false
}

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) {
	if v.Type != TypeBool {
		return false, false
	}
	return v.scalar != 0, true
}

// Str returns a string value.
func (v Value) Str() (string, bool) {
	if v.Type != TypeString {
		return "", false
	}
	return v.str, true
}

// Strings decodes an array of strings.
func (v Value) Strings() ([]string, bool) {
	if v.Type != TypeArray || v.ElemType != TypeString {
		return nil, false
	}
	out := make([]string, v.Count)
	raw := v.raw
	for i := range out {
		n := binary.LittleEndian.Uint64(raw)
		out[i] = string(raw[8 : 8+n])
		raw = raw[8+n:]
	}
	return out, true
}

// EachString calls fn with each element of an array of strings, without
// copying them; b is valid only during the call.
func (v Value) EachString(fn func(i int, b []byte)) bool {
	if v.Type != TypeArray || v.ElemType != TypeString {
		return false
	}
	raw := v.raw
	for i := 0; i < v.Count; i++ {
		n := binary.LittleEndian.Uint64(raw)
		fn(i, raw[8:8+n])
		raw = raw[8+n:]
	}
	return true
}

// Ints decodes an array of any integer type.
func (v Value) Ints() ([]int64, bool) {
	if v.Type != TypeArray || !v.ElemType.isInt() {
		return nil, false
	}
	es := v.ElemType.fixedSize()
	out := make([]int64, v.Count)
	for i := range out {
		out[i] = int64(decodeScalar(v.ElemType, v.raw[i*es:]))
	}
	return out, true
}

// Floats decodes an array of f32 or f64.
func (v Value) Floats() ([]float64, bool) {
	if v.Type != TypeArray || (v.ElemType != TypeFloat32 && v.ElemType != TypeFloat64) {
		return nil, false
	}
	es := v.ElemType.fixedSize()
	out := make([]float64, v.Count)
	for i := range out {
		out[i] = math.Float64frombits(decodeScalar(v.ElemType, v.raw[i*es:]))
	}
	return out, true
}

// String formats the value for messages.
func (v Value) String() string {
	switch {
	case v.Type == TypeString:
		return fmt.Sprintf("%q", v.str)
	case v.Type == TypeArray:
		return fmt.Sprintf("[%d × %s]", v.Count, v.ElemType)
	case v.Type == TypeBool:
		return fmt.Sprint(v.scalar != 0)
	case v.Type == TypeFloat32 || v.Type == TypeFloat64:
		return fmt.Sprint(math.Float64frombits(v.scalar))
	case v.Type.isInt():
		if i, ok := v.Int(); ok {
			return fmt.Sprint(i)
		}
		return fmt.Sprint(v.scalar)
	}
	return v.Type.String()
}

// GetString returns the string stored under key.
func (f *File) GetString(key string) (string, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return "", false
	}
	return v.Str()
}

// GetUint returns the non-negative integer stored under key.
func (f *File) GetUint(key string) (uint64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// GetFloat returns the number stored under key.
func (f *File) GetFloat(key string) (float64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// GetBool returns the bool stored under key.
func (f *File) GetBool(key string) (bool, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// GetStrings returns the array of strings stored under key.
func (f *File) GetStrings(key string) ([]string, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.Strings()
}

// GetInts returns the integer array stored under key.
func (f *File) GetInts(key string) ([]int64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.Ints()
}

// GetFloats returns the float array stored under key.
func (f *File) GetFloats(key string) ([]float64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.Floats()
}
