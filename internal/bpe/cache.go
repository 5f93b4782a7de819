package bpe

import (
	"sync/atomic"
)

// pieceCache remembers the ids that merging gave for recent pieces, so that
// a name repeated through a text is merged once. It is direct-mapped and
// lock-free: each slot holds an immutable entry, replaced whole.
type pieceCache struct {
	slots [cacheSlots]atomic.Pointer[cacheEntry]
}

const (
	cacheSlots    = 4096
	cacheMaxPiece = smallPiece // longer pieces are not cached
)

type cacheEntry struct {
	piece string
	ids   []int32
}

// get appends the cached ids of piece, whose hash is h, to dst.
func (c *pieceCache) get(dst []int, piece string, h uint64) ([]int, bool) {
	e := c.slots[h&(cacheSlots-1)].Load()
	if e == nil || e.piece != piece {
		return dst, false
	}
	for _, id := range e.ids {
		dst = append(dst, int(id))
	}
	return dst, true
}

// put caches ids for piece, whose hash is h.
func (c *pieceCache) put(piece string, h uint64, ids []int) {
	if len(piece) > cacheMaxPiece {
		return
	}
	e := &cacheEntry{piece: string([]byte(piece)), ids: make([]int32, len(ids))}
	for i, id := range ids {
		e.ids[i] = int32(id)
	}
	c.slots[h&(cacheSlots-1)].Store(e)
}
