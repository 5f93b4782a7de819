package bpe

import (
	"math/bits"
)

// noMerge is the rank of a pair that has no merge.
const noMerge = ^uint32(0)

// pairTable maps a pair of token ids (a, b) to the rank of its merge; merged
// holds the id of the merged token by rank. The table is open addressing with
// linear probing over one word per slot: bit 63 set, then the pair, then the
// rank. Vocabularies too large for that (over about two million tokens) use a
// map instead.
type pairTable struct {
	slots    []uint64 // 0: empty
	bits     uint8    // len(slots) == 1<<bits
	idBits   uint8
	rankBits uint8
	wide     map[uint64]uint32
	merged   []int32
}

// newPairTable returns a table for the merges of merged (by rank; -1 for a
// merge that does not apply) whose pairs are keys[rank], as made by key.
func newPairTable(nTokens int, merged []int32, keys []uint64) pairTable {
	t := pairTable{
		idBits:   uint8(bits.Len(uint(nTokens))),
		rankBits: uint8(bits.Len(uint(len(merged)))),
		merged:   merged,
	}
	if 2*int(t.idBits)+int(t.rankBits) > 63 {
		t.wide = make(map[uint64]uint32, len(merged))
		for r, key := range keys {
			if _, dup := t.wide[key]; !dup && merged[r] >= 0 {
				t.wide[key] = uint32(r)
			}
		}
		return t
	}
	t.bits = uint8(max(bits.Len(uint(len(merged)+len(merged)/2)), 4)) // load factor at most 2/3
	t.slots = make([]uint64, 1<<t.bits)
	// Insert in the order of the slots, so that the table is written front
	// to back rather than at random.
	type rec struct {
		val  uint64
		home uint32
	}
	recs := make([]rec, 0, len(merged))
	for r, key := range keys {
		if merged[r] >= 0 {
			recs = append(recs, rec{1<<63 | key<<t.rankBits | uint64(r), t.home(key)})
		}
	}
	recs = sortBySlot(recs, func(r *rec) uint32 { return r.home }, t.bits)
	mask := uint32(len(t.slots) - 1)
	for _, r := range recs {
		for i := r.home; ; i = (i + 1) & mask {
			s := t.slots[i]
			if s == 0 {
				t.slots[i] = r.val
				break
			}
			if s>>t.rankBits == r.val>>t.rankBits { // the same pair: keep the lower rank
				t.slots[i] = min(s, r.val)
				break
			}
		}
	}
	return t
}

func (t *pairTable) key(a, b int32) uint64 { return uint64(a)<<t.idBits | uint64(b) }

func (t *pairTable) home(key uint64) uint32 {
	return uint32((key * 0x9E3779B97F4A7C15) >> (64 - t.bits))
}

// get returns the rank of the merge of (a, b), or noMerge.
func (t *pairTable) get(a, b int32) uint32 {
	key := t.key(a, b)
	if t.wide != nil {
		if r, ok := t.wide[key]; ok {
			return r
		}
		return noMerge
	}
	mask := uint32(len(t.slots) - 1)
	for i := t.home(key); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return noMerge
		}
		if (s<<1)>>(t.rankBits+1) == key {
			return uint32(s & (1<<t.rankBits - 1))
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
	var pairBuf [smallPiece]uint32
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
		syms[at] = t.pairs.merged[best]
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
	rank        uint32
	pos         int32 // left symbol
	left, right int32 // the ids the pair had when the entry was made
}

func (e heapEntry) less(f heapEntry) bool {
	return e.rank < f.rank || e.rank == f.rank && e.pos < f.pos
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
		syms[e.pos] = t.pairs.merged[e.rank]
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
