package bpe

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// strTable maps the bytes of tokens to their ids: an open-addressing hash
// table with linear probing, built for lookups that mostly miss the CPU
// caches less than Go's map does. Each slot holds a token's first 8 bytes, so
// that tokens of up to 8 bytes (most of them) are found without reading the
// token text.
type strTable struct {
	slots []strSlot
	shift uint8
	tok   *Tokenizer // for the text of tokens longer than 8 bytes
	n     int
}

type strSlot struct {
	head uint64 // the first 8 bytes, little-endian, zero-padded
	meta uint64 // len<<32 | id+1; 0: empty
}

func newStrTable(t *Tokenizer, n int) strTable {
	size := 1 << bits.Len(uint(2*n)) // load factor at most 1/2
	size = max(size, 16)
	return strTable{
		slots: make([]strSlot, size),
		shift: uint8(64 - bits.TrailingZeros(uint(size))),
		tok:   t,
	}
}

// head returns the first 8 bytes of s, little-endian and zero-padded.
func head(s string) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	if len(b) >= 4 {
		w = uint64(binary.LittleEndian.Uint32(b))
		for i := 4; i < len(b); i++ {
			w |= uint64(b[i]) << (8 * i)
		}
		return w
	}
	for i := range b {
		w |= uint64(b[i]) << (8 * i)
	}
	return w
}

const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
)

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^hashK0, b^hashK1)
	return hi ^ lo
}

// hashTail hashes s given its head h.
func hashTail(s string, h uint64) uint64 {
	x := mix(h, uint64(len(s)))
	if len(s) > 8 {
		b := unsafe.Slice(unsafe.StringData(s), len(s))[8:]
		for len(b) >= 8 {
			x = mix(x, binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
		if len(b) > 0 {
			var w uint64
			for i := range b {
				w |= uint64(b[i]) << (8 * i)
			}
			x = mix(x, w|1<<63)
		}
	}
	return x
}

// add stores id under s unless s is there already (the first id wins).
// s must be the text of token id, which outlives the table.
func (t *strTable) add(s string, id int32) bool {
	h := head(s)
	meta := uint64(len(s))<<32 | uint64(id+1)
	mask := len(t.slots) - 1
	for i := int(hashTail(s, h) >> t.shift); ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.meta == 0 {
			sl.head, sl.meta = h, meta
			t.n++
			return true
		}
		if sl.head == h && sl.meta>>32 == uint64(len(s)) && (len(s) <= 8 || t.tok.token(int32(uint32(sl.meta)-1)) == s) {
			return false
		}
	}
}

// get returns the id stored under s, or -1.
func (t *strTable) get(s string) int32 {
	h := head(s)
	mask := len(t.slots) - 1
	for i := int(hashTail(s, h) >> t.shift); ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.meta == 0 {
			return -1
		}
		if sl.head == h && sl.meta>>32 == uint64(len(s)) {
			id := int32(uint32(sl.meta) - 1)
			if len(s) <= 8 || t.tok.token(id) == s {
				return id
			}
		}
	}
}
