package bitnet

import "strings"

// A stopMatcher finds stop strings in text that arrives in pieces (one
// token's text at a time) and says which text is safe to emit.
//
// Generation stops at the first stop string to complete: the occurrence that
// ends earliest in the text, and among those that end at the same byte, the
// longest (the one that starts first). The emitted text is everything before
// that occurrence; no byte of it is emitted, not even while it could still be
// a stop string. How the text is split into pieces does not change what is
// emitted in total.
//
// To this end Push holds back the longest end of the text so far that could
// be the start of a stop string, and emits it later when it turns out not to
// be. When the pieces are valid UTF-8 and the stop strings too, every emitted
// string is valid UTF-8.
//
// The zero value, or newStopMatcher with no non-empty stop strings, passes
// every piece through. A stopMatcher is not safe for concurrent use.
type stopMatcher struct {
	stops   []string
	held    string // the end of the text so far that may start a stop string
	stopped bool
}

// newStopMatcher returns a matcher for stops; empty strings are ignored.
func newStopMatcher(stops []string) *stopMatcher {
	m := &stopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push adds the next piece of text. It returns the text that is now safe to
// emit, and stopped = true when a stop string has completed; emit then ends
// right before that stop string, and every later Push returns ("", true).
func (m *stopMatcher) Push(text string) (emit string, stopped bool) {
	if m.stopped {
		return "", true
	}
	if len(m.stops) == 0 {
		return text, false
	}
	buf := m.held + text
	// The earliest-ending occurrence. No stop string ends inside held (it
	// would have been found by an earlier Push), and none starts before it
	// (held is the longest end that could start one).
	start, end := -1, len(buf)+1
	for _, s := range m.stops {
		i := strings.Index(buf, s)
		if i < 0 {
			continue
		}
		if e := i + len(s); e < end || e == end && i < start {
			start, end = i, e
		}
	}
	if start >= 0 {
		m.stopped = true
		m.held = ""
		return buf[:start], true
	}
	keep := 0
	for _, s := range m.stops {
		for k := min(len(s)-1, len(buf)); k > keep; k-- {
			if strings.HasSuffix(buf, s[:k]) {
				keep = k
				break
			}
		}
	}
	m.held = buf[len(buf)-keep:]
	return buf[:len(buf)-keep], false
}

// Flush returns the text still held back, at the end of generation when no
// stop string completed ("" after a stop).
func (m *stopMatcher) Flush() string {
	h := m.held
	m.held = ""
	return h
}

// Stopped reports whether a stop string has completed.
func (m *stopMatcher) Stopped() bool { return m.stopped }
