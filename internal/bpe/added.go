package bpe

import (
	"slices"
	"strings"
)

// matcher finds added tokens in text: the leftmost match, the longest among
// those that start there (Hugging Face's leftmost-longest rule).
type matcher struct {
	ids   map[string]int32
	lens  []int     // distinct token lengths, longest first
	first [256]bool // first bytes of the tokens
	pair  []uint64  // bit set over the first two bytes of tokens longer than one byte
	one   int       // the only first byte, when there is just one; else -1
}

func newMatcher(t *Tokenizer, ids []int32) matcher {
	m := matcher{ids: make(map[string]int32, len(ids)), one: -1}
	if len(ids) == 0 {
		return m
	}
	m.pair = make([]uint64, 1<<16/64)
	firsts := 0
	for _, id := range ids {
		s := t.token(id)
		m.ids[s] = id
		if !slices.Contains(m.lens, len(s)) {
			m.lens = append(m.lens, len(s))
		}
		if !m.first[s[0]] {
			m.first[s[0]] = true
			firsts++
			m.one = int(s[0])
		}
		if len(s) > 1 {
			k := int(s[0])<<8 | int(s[1])
			m.pair[k/64] |= 1 << (k % 64)
		}
	}
	if firsts != 1 {
		m.one = -1
	}
	slices.Sort(m.lens)
	slices.Reverse(m.lens)
	return m
}

// find returns the start and end of the first added token in s and its id,
// or pos -1.
func (m *matcher) find(s string) (pos, end int, id int32) {
	if len(m.ids) == 0 {
		return -1, 0, 0
	}
	for i := 0; i < len(s); i++ {
		if m.one >= 0 {
			k := strings.IndexByte(s[i:], byte(m.one))
			if k < 0 {
				return -1, 0, 0
			}
			i += k
		} else if !m.first[s[i]] {
			continue
		}
		if i+1 < len(s) {
			k := int(s[i])<<8 | int(s[i+1])
			if m.pair[k/64]&(1<<(k%64)) == 0 && !m.hasLen(1) {
				continue
			}
		}
		for _, n := range m.lens {
			if i+n > len(s) {
				continue
			}
			if id, ok := m.ids[s[i:i+n]]; ok {
				return i, i + n, id
			}
		}
	}
	return -1, 0, 0
}

func (m *matcher) hasLen(n int) bool {
	return len(m.lens) > 0 && m.lens[len(m.lens)-1] == n
}
