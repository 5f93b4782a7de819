package bpe

import (
	"math/bits"
)

// noMerge is the pair table's answer for a pair that has no merge.
const noMerge = ^uint64(0)

// pairTable maps a pair of token ids (a, b) to the merge rank of (a, b) and
// the id of the merged token, packed as rank<<32 | id, so that the smaller
// value is the merge to apply first. It is an open-addressing hash table with
// linear probing.
type pairTable struct {
	keys  []uint64 // a<<32 | b; noMerge marks an empty slot
	vals  []uint64
	shift uint8
}

func newPairTable(n int) pairTable {
	size := 1 << bits.Len(uint(2*n+1)) // load factor at most 1/2
	if size < 16 {
		size = 16
	}
	t := pairTable{
		keys:  make([]uint64, size),
		vals:  make([]uint64, size),
		shift: uint8(64 - bits.TrailingZeros(uint(size))),
	}
	for i := range t.keys {
		t.keys[i] = noMerge
	}
	return t
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (t *pairTable) slot(key uint64) int {
	return int((key * 0x9E3779B97F4A7C15) >> t.shift)
}

// add records the merge unless the pair already has one (the first, lowest
// rank wins).
func (t *pairTable) add(a, b int32, val uint64) {
	key := pairKey(a, b)
	mask := len(t.keys) - 1
	for i := t.slot(key); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case noMerge:
			t.keys[i] = key
			t.vals[i] = val
			return
		case key:
			return
		}
	}
}

// get returns rank<<32 | merged id for the pair (a, b), or noMerge.
func (t *pairTable) get(a, b int32) uint64 {
	key := pairKey(a, b)
	mask := len(t.keys) - 1
	for i := t.slot(key); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case key:
			return t.vals[i]
		case noMerge:
			return noMerge
		}
	}
}

// smallPiece is the longest piece merged with the quadratic method; longer
// pieces use a heap.
const smallPiece = 64

// appendMerged appends the ids that byte-level BPE gives for piece, which has
// at least one byte. Bytes with no token of their own are dropped.
func (t *Tokenizer) appendMerged(dst []int, piece string) []int {
	if len(piece) > smallPiece {
		return t.appendMergedHeap(dst, piece)
	}
	var symBuf [smallPiece]int32
	var pairBuf [smallPiece]uint64
	syms := symBuf[:0]
	for i := 0; i < len(piece); i++ {
		if id := t.byteID[piece[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	if len(syms) == 0 {
		return dst
	}
	// pairs[i] is the merge of syms[i] and syms[i+1].
	pairs := pairBuf[:len(syms)-1]
	for i := range pairs {
		pairs[i] = t.pairs.get(syms[i], syms[i+1])
	}
	for len(pairs) > 0 {
		best, at := noMerge, -1
		for i, p := range pairs {
			if p < best {
				best, at = p, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = int32(uint32(best))
		syms = append(syms[:at+1], syms[at+2:]...)
		pairs = append(pairs[:at], pairs[at+1:]...)
		if at > 0 {
			pairs[at-1] = t.pairs.get(syms[at-1], syms[at])
		}
		if at < len(pairs) {
			pairs[at] = t.pairs.get(syms[at], syms[at+1])
		}
	}
	for _, id := range syms {
		dst = append(dst, int(id))
	}
	return dst
}

// A heapEntry is a candidate merge of the symbol at pos with the next one.
type heapEntry struct {
	val         uint64 // rank<<32 | merged id
	pos         int32  // left symbol
	left, right int32  // the ids the pair had when the entry was made
}

func (e heapEntry) less(f heapEntry) bool {
	return e.val < f.val || e.val == f.val && e.pos < f.pos
}

type mergeHeap []heapEntry

func (h *mergeHeap) push(e heapEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() heapEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].less(s[l]) {
			m = r
		}
		if !s[m].less(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// appendMergedHeap is appendMerged for long pieces: O(n log n) with a heap of
// candidate merges over a linked list of symbols. It applies the same merges
// in the same order: lowest rank first, leftmost first among equals.
func (t *Tokenizer) appendMergedHeap(dst []int, piece string) []int {
	syms := make([]int32, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		if id := t.byteID[piece[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	n := len(syms)
	if n == 0 {
		return dst
	}
	next := make([]int32, n) // -1: last symbol
	prev := make([]int32, n) // -1: first symbol
	for i := range n {
		next[i] = int32(i + 1)
		prev[i] = int32(i - 1)
	}
	next[n-1] = -1
	h := make(mergeHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if v := t.pairs.get(syms[i], syms[i+1]); v != noMerge {
			h.push(heapEntry{v, int32(i), syms[i], syms[i+1]})
		}
	}
	const dead = -2
	for len(h) > 0 {
		e := h.pop()
		r := next[e.pos]
		if r < 0 || syms[e.pos] != e.left || syms[r] != e.right {
			continue // stale: a symbol of the pair has merged since
		}
		syms[e.pos] = int32(uint32(e.val))
		rr := next[r]
		next[e.pos] = rr
		if rr >= 0 {
			prev[rr] = e.pos
		}
		next[r], syms[r] = dead, dead
		if p := prev[e.pos]; p >= 0 {
			if v := t.pairs.get(syms[p], syms[e.pos]); v != noMerge {
				h.push(heapEntry{v, p, syms[p], syms[e.pos]})
			}
		}
		if rr >= 0 {
			if v := t.pairs.get(syms[e.pos], syms[rr]); v != noMerge {
				h.push(heapEntry{v, e.pos, syms[e.pos], syms[rr]})
			}
		}
	}
	for i := int32(0); i >= 0; i = next[i] {
		dst = append(dst, int(syms[i]))
	}
	return dst
}
