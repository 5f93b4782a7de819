package bpe

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// strTable maps the bytes of tokens to their ids: an open-addressing hash
// table with linear probing. Each slot holds a tag made of the token's first
// 8 bytes, so that tokens shorter than 8 bytes (most of them) are found
// without reading the token text.
type strTable struct {
	slots []strSlot
	bits  uint8 // len(slots) == 1<<bits
	tok   *Tokenizer
}

type strSlot struct {
	tag  uint64 // see tag
	meta uint64 // len<<32 | id+1; 0: empty
}

func newStrTable(t *Tokenizer, n int) strTable {
	b := max(bits.Len(uint(2*n)), 4) // load factor at most 1/2
	return strTable{slots: make([]strSlot, 1<<b), bits: uint8(b), tok: t}
}

// tag returns the first 8 bytes of s, little-endian; for s shorter than 8
// bytes, zero-padded and with the length in the top byte. Two strings with
// the same tag, both shorter or both not shorter than 8 bytes, are equal if
// they are shorter, and start with the same 8 bytes otherwise.
func tag(s string) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	w := uint64(len(b)) << 56
	if len(b) >= 4 {
		w |= uint64(binary.LittleEndian.Uint32(b))
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

// hash hashes s, whose tag is g.
func hash(s string, g uint64) uint64 {
	x := mix(g, uint64(len(s)))
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

// home returns the tag of s and the slot where its probe sequence starts.
func (t *strTable) home(s string) (uint64, uint32) {
	g := tag(s)
	return g, uint32(hash(s, g) >> (64 - t.bits))
}

// find returns the slot of a key with tag g whose probe sequence starts at
// slot i, or the empty slot where the key would go. long tells whether the
// key has 8 bytes or more; key returns it, and is called only then.
func (t *strTable) find(g uint64, i uint32, long bool, key func() string) *strSlot {
	mask := uint32(len(t.slots) - 1)
	for ; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.meta == 0 {
			return sl
		}
		if sl.tag == g && (sl.meta>>32 >= 8) == long &&
			(!long || t.tok.token(int32(uint32(sl.meta)-1)) == key()) {
			return sl
		}
	}
}

// get returns the id stored under s, or -1.
func (t *strTable) get(s string) int32 {
	g, i := t.home(s)
	return t.getAt(s, g, i)
}

// getAt is get for s whose tag and home slot are g and i.
func (t *strTable) getAt(s string, g uint64, i uint32) int32 {
	mask := uint32(len(t.slots) - 1)
	for ; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.meta == 0 {
			return -1
		}
		if sl.tag == g && sl.meta>>32 == uint64(len(s)) {
			id := int32(uint32(sl.meta) - 1)
			if len(s) <= 8 || t.tok.token(id) == s {
				return id
			}
		}
	}
}

// A keyRec is a key of a batch operation on the table, with what its probe
// needs except the text itself, which only keys of 8 bytes or more read.
type keyRec struct {
	tag  uint64
	home uint32
	k    uint32 // index of the key in the batch; recLong set for 8 bytes or more
}

const recLong = 1 << 31

// batch returns the records of the keys key(0) ... key(n-1), sorted by the
// top bits of their home slots (a counting sort into at most 1024 buckets):
// probing them in that order reads the table front to back instead of at
// random, which matters when it does not fit in the caches.
func (t *strTable) batch(n int, key func(k int) string) []keyRec {
	if uint64(n) >= recLong {
		panic("bpe: batch too large")
	}
	shift := uint(0)
	if t.bits > 10 {
		shift = uint(t.bits) - 10
	}
	homes := make([]uint32, n)
	var count [1024 + 1]uint32
	for k := range homes {
		_, homes[k] = t.home(key(k))
		count[homes[k]>>shift+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	recs := make([]keyRec, n)
	for k, home := range homes {
		s := key(k)
		r := keyRec{tag: tag(s), home: home, k: uint32(k)}
		if len(s) >= 8 {
			r.k |= recLong
		}
		b := home >> shift
		recs[count[b]] = r
		count[b]++
	}
	return recs
}

// findRec is find for a batch record.
func (t *strTable) findRec(r *keyRec, key func(k int) string) *strSlot {
	k := int(r.k &^ recLong)
	return t.find(r.tag, r.home, r.k&recLong != 0, func() string { return key(k) })
}

// addAll stores each token of ids under its text, the lowest id winning a
// duplicate, and returns the ids that lost. The texts must outlive the table.
func (t *strTable) addAll(ids []int32) (dups []int32) {
	key := func(k int) string { return t.tok.token(ids[k]) }
	recs := t.batch(len(ids), key)
	for i := range recs {
		r := &recs[i]
		id := ids[r.k&^recLong]
		sl := t.findRec(r, key)
		meta := uint64(t.tok.offs[id+1]-t.tok.offs[id])<<32 | uint64(id+1)
		switch old := int32(uint32(sl.meta)) - 1; {
		case sl.meta == 0:
			sl.tag, sl.meta = r.tag, meta
		case id < old:
			sl.meta = meta
			dups = append(dups, old)
		default:
			dups = append(dups, id)
		}
	}
	return dups
}

// getAll sets out[k] to the id of key(k), or -1, for each k < len(out).
func (t *strTable) getAll(out []int32, key func(k int) string) {
	recs := t.batch(len(out), key)
	for i := range recs {
		r := &recs[i]
		out[r.k&^recLong] = int32(uint32(t.findRec(r, key).meta)) - 1
	}
}

// sortBySlot sorts records by the top bits of their slot numbers (below
// 1<<tableBits): a stable counting sort into at most 1024 buckets.
func sortBySlot[T any](recs []T, slot func(*T) uint32, tableBits uint8) []T {
	shift := uint(0)
	if tableBits > 10 {
		shift = uint(tableBits) - 10
	}
	var count [1024 + 1]uint32
	for i := range recs {
		count[slot(&recs[i])>>shift+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	out := make([]T, len(recs))
	for i := range recs {
		b := slot(&recs[i]) >> shift
		out[count[b]] = recs[i]
		count[b]++
	}
	return out
}
