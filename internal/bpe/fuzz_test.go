package bpe

import (
	"strings"
	"testing"
)

// FuzzSplit: the pieces are never empty and concatenate to the input, for
// any byte string; merging a piece by the heap or the quadratic method gives
// the same tokens.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "a   b", "\t\tx", "I'M 'sup", "1234567", "\xff\xc3(", "x \ufeff!", "{\n\n\treturn"} {
		f.Add(s)
	}
	tok := loadLlama3(f)
	f.Fuzz(func(t *testing.T, s string) {
		var pieces []string
		Split(s, func(p string) {
			if p == "" {
				t.Fatalf("empty piece in %q", s)
			}
			pieces = append(pieces, p)
		})
		if got := strings.Join(pieces, ""); got != s {
			t.Fatalf("pieces of %q join to %q", s, got)
		}
		for _, p := range pieces {
			if len(p) <= smallPiece {
				q, h := tok.appendMerged(nil, p), tok.appendMergedHeap(nil, p)
				if len(q) != len(h) {
					t.Fatalf("%q: quadratic %v, heap %v", p, q, h)
				}
				for i := range q {
					if q[i] != h[i] {
						t.Fatalf("%q: quadratic %v, heap %v", p, q, h)
					}
				}
			}
		}
	})
}
