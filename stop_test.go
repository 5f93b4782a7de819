package bitnet

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stopReference returns the text before the first stop string to complete
// in text (the earliest end; the longest on a tie) and whether one did.
func stopReference(text string, stops []string) (string, bool) {
	for e := 1; e <= len(text); e++ {
		best := -1
		for _, s := range stops {
			if s != "" && len(s) > best && strings.HasSuffix(text[:e], s) {
				best = len(s)
			}
		}
		if best >= 0 {
			return text[:e-best], true
		}
	}
	return text, false
}

// runStopMatcher pushes pieces through a new matcher, checking the
// invariants after every push, and returns the whole output (Flush
// included), whether it stopped, and the emit of each push.
func runStopMatcher(t testing.TB, stops []string, pieces []string) (string, bool, []string) {
	m := newStopMatcher(stops)
	var out, in strings.Builder
	var emits []string
	stopped := false
	for i, p := range pieces {
		in.WriteString(p)
		emit, st := m.Push(p)
		emits = append(emits, emit)
		out.WriteString(emit)
		if stopped {
			require.Equal(t, "", emit, "push %d after the stop", i)
			require.True(t, st)
			continue
		}
		stopped = st
		for _, s := range stops {
			if s != "" {
				require.NotContains(t, out.String(), s, "push %d emitted a stop string", i)
			}
		}
		if !stopped {
			require.Equal(t, in.String(), out.String()+m.held, "push %d: emitted and held text", i)
		}
		require.Equal(t, stopped, m.Stopped())
	}
	out.WriteString(m.Flush())
	return out.String(), stopped, emits
}

func TestStopMatcher(t *testing.T) {
	tests := []struct {
		name        string
		stops       []string
		pieces      []string
		want        string
		wantStopped bool
		wantEmits   []string // when not nil, the emit of each push
	}{
		{"no stops", nil, []string{"a", "bc"}, "abc", false, []string{"a", "bc"}},
		{"empty stops ignored", []string{"", ""}, []string{"a", "bc"}, "abc", false, []string{"a", "bc"}},
		{"in one piece", []string{"END"}, []string{"fooENDbar"}, "foo", true, []string{"foo"}},
		{"split across pieces", []string{"END"}, []string{"Hello E", "N", "D more"}, "Hello ", true,
			[]string{"Hello ", "", ""}},
		{"held back, then released", []string{"\n\n"}, []string{"a\n", "b", "\n"}, "a\nb\n", false,
			[]string{"a", "\nb", ""}},
		{"false start", []string{"END"}, []string{"EN", "EN", "D"}, "EN", true, []string{"", "EN", ""}},
		{"overlapping prefixes", []string{"abab"}, []string{"a", "b", "a", "b", "a", "b"}, "", true,
			[]string{"", "", "", "", "", ""}},
		{"overlapping prefixes, text before", []string{"abab"}, []string{"xabacab", "ab"}, "xabac", true,
			[]string{"xabac", ""}},
		{"self-overlap", []string{"aab"}, []string{"a", "a", "a", "a", "b"}, "aa", true,
			[]string{"", "", "a", "a", ""}},
		{"earliest of several", []string{"world", "lo w"}, []string{"hello world"}, "hel", true, nil},
		{"earliest end wins over earliest start", []string{"abcd", "bc"}, []string{"abcd"}, "a", true, nil},
		{"longest of those ending together", []string{"bc", "abc"}, []string{"xa", "bc"}, "x", true,
			[]string{"x", ""}},
		{"one stop a prefix of another", []string{"ab", "abc"}, []string{"xab", "c"}, "x", true, nil},
		{"stop at the very start", []string{"<"}, []string{"<tag>"}, "", true, nil},
		{"whole stop arrives with text", []string{"###"}, []string{"a#", "##b"}, "a", true, []string{"a", ""}},
		{"utf-8", []string{"é!"}, []string{"caf", "é", "?é", "!"}, "café?", true,
			[]string{"caf", "", "é?", ""}},
		{"nothing after end", []string{"xyz"}, []string{"abcx", "y"}, "abcxy", false, []string{"abc", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stopped, emits := runStopMatcher(t, tt.stops, tt.pieces)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantStopped, stopped)
			if tt.wantEmits != nil {
				assert.Equal(t, tt.wantEmits, emits)
			}
			ref, refStopped := stopReference(strings.Join(tt.pieces, ""), tt.stops)
			assert.Equal(t, ref, got, "reference")
			assert.Equal(t, refStopped, stopped, "reference")
		})
	}
}

func TestStopMatcherAfterStop(t *testing.T) {
	m := newStopMatcher([]string{"x"})
	emit, stopped := m.Push("abxcd")
	assert.Equal(t, "ab", emit)
	assert.True(t, stopped)
	emit, stopped = m.Push("more")
	assert.Equal(t, "", emit)
	assert.True(t, stopped)
	assert.Equal(t, "", m.Flush())

	var zero stopMatcher
	emit, stopped = zero.Push("abc")
	assert.Equal(t, "abc", emit)
	assert.False(t, stopped)
	assert.Equal(t, "", zero.Flush())
}

// splitRandomly cuts text into pieces at random points (empty pieces
// included).
func splitRandomly(r *rand.Rand, text string) []string {
	var pieces []string
	for len(text) > 0 {
		n := r.IntN(min(len(text), 5) + 1)
		pieces = append(pieces, text[:n])
		text = text[n:]
	}
	return append(pieces, "")
}

// TestStopMatcherRandom compares the matcher with the reference on many
// short texts over a small alphabet, where stop strings overlap often.
func TestStopMatcherRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	word := func(maxLen int) string {
		b := make([]byte, r.IntN(maxLen+1))
		for i := range b {
			b[i] = "abc"[r.IntN(3)]
		}
		return string(b)
	}
	for range 20000 {
		text := word(24)
		stops := make([]string, 1+r.IntN(3))
		for i := range stops {
			stops[i] = word(5)
		}
		got, stopped, _ := runStopMatcher(t, stops, splitRandomly(r, text))
		want, wantStopped := stopReference(text, stops)
		require.Equal(t, want, got, "text %q stops %q", text, stops)
		require.Equal(t, wantStopped, stopped, "text %q stops %q", text, stops)
	}
}

func FuzzStopMatcher(f *testing.F) {
	f.Add("ababab", "abab", "", uint64(1))
	f.Add("hello world", "world", "lo w", uint64(2))
	f.Add("xabcd", "abcd", "bc", uint64(3))
	f.Add("a\n\nb", "\n\n", "\n\n\n", uint64(4))
	f.Add("café!", "é!", "!", uint64(5))
	f.Add("aaaab", "aab", "aaab", uint64(6))
	f.Fuzz(func(t *testing.T, text, stopA, stopB string, seed uint64) {
		stops := []string{stopA, stopB}
		r := rand.New(rand.NewPCG(seed, seed))
		got, stopped, _ := runStopMatcher(t, stops, splitRandomly(r, text))
		want, wantStopped := stopReference(text, stops)
		require.Equal(t, want, got)
		require.Equal(t, wantStopped, stopped)
		require.True(t, strings.HasPrefix(text, got))
	})
}
