package bpe

import (
	"unicode"
	"unicode/utf8"
)

// The Llama 3 pre-tokenizer, written by hand because Go's regexp has no
// lookahead and an ASCII-only \s. It cuts text exactly as the pattern
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// does under a backtracking engine (tiktoken's fancy-regex, Hugging Face's
// Oniguruma): at each position the first alternative that matches wins.
// \s is Unicode White_Space. Bytes that are not valid UTF-8 count one by one
// as characters of class other, like U+FFFD, so every byte string splits
// into pieces that concatenate back to it.

// Character classes.
const (
	clsOther   uint8 = iota // not a letter, number or white space
	clsLetter               // \p{L}
	clsNumber               // \p{N}
	clsSpace                // White_Space other than \r and \n
	clsNewline              // \r or \n
)

// bmpClass holds the class of every rune below U+10000.
var bmpClass [0x10000]uint8

func init() {
	set := func(t *unicode.RangeTable, c uint8) {
		for _, r := range t.R16 {
			for x := int(r.Lo); x <= int(r.Hi); x += int(r.Stride) {
				bmpClass[x] = c
			}
		}
		for _, r := range t.R32 {
			if r.Lo >= 0x10000 {
				break
			}
			for x := int(r.Lo); x <= int(r.Hi) && x < 0x10000; x += int(r.Stride) {
				bmpClass[x] = c
			}
		}
	}
	set(unicode.L, clsLetter)
	set(unicode.N, clsNumber)
	set(unicode.White_Space, clsSpace)
	bmpClass['\r'] = clsNewline
	bmpClass['\n'] = clsNewline
}

// classAt returns the class of the character at s[i] and its width in bytes.
func classAt(s string, i int) (uint8, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return bmpClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if size == 1 { // invalid UTF-8
		return clsOther, 1
	}
	if r < 0x10000 {
		return bmpClass[r], size
	}
	switch {
	case unicode.IsLetter(r):
		return clsLetter, size
	case unicode.IsNumber(r):
		return clsNumber, size
	}
	return clsOther, size // no White_Space outside the BMP
}

// scanClass returns the end of the run of characters of class cls that
// starts at s[i].
func scanClass(s string, i int, cls uint8) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if bmpClass[c] != cls {
				return i
			}
			i++
			continue
		}
		k, w := classAt(s, i)
		if k != cls {
			return i
		}
		i += w
	}
	return i
}

// contraction returns the length of the contraction ('s 't 're 've 'm 'll 'd,
// any case) that starts at s[i], which is an apostrophe, or 0.
func contraction(s string, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	// c|0x20 lowers an ASCII letter; no other byte lands on these letters.
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return 3
		}
	}
	// U+017F LATIN SMALL LETTER LONG S folds to s.
	if s[i+1] == 0xC5 && i+2 < len(s) && s[i+2] == 0xBF {
		return 3
	}
	return 0
}

// nextPiece returns the end of the pre-token piece that starts at s[i],
// i < len(s).
func nextPiece(s string, i int) int {
	if s[i] == '\'' {
		if n := contraction(s, i); n > 0 {
			return i + n
		}
	}
	cls, w := classAt(s, i)
	j := i + w
	switch cls {
	case clsLetter:
		return scanClass(s, j, clsLetter)
	case clsNumber:
		for k := 0; k < 2 && j < len(s); k++ {
			c, w := classAt(s, j)
			if c != clsNumber {
				break
			}
			j += w
		}
		return j
	case clsOther:
		if j < len(s) {
			c, w := classAt(s, j)
			if c == clsLetter { // [^\r\n\p{L}\p{N}]?\p{L}+
				return scanClass(s, j+w, clsLetter)
			}
		}
		return punctTail(s, scanClass(s, j, clsOther))
	case clsSpace:
		if j < len(s) {
			c, w := classAt(s, j)
			if c == clsLetter { // [^\r\n\p{L}\p{N}]?\p{L}+
				return scanClass(s, j+w, clsLetter)
			}
			if c == clsOther && s[i] == ' ' { // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
				return punctTail(s, scanClass(s, j+w, clsOther))
			}
		}
	}
	// A run of white space starting at s[i].
	last, lastNL := i, -1
	if cls == clsNewline {
		lastNL = i
	}
	for j < len(s) {
		c, w := classAt(s, j)
		if c != clsSpace && c != clsNewline {
			break
		}
		if c == clsNewline {
			lastNL = j
		}
		last = j
		j += w
	}
	switch {
	case lastNL >= 0: // \s*[\r\n]+
		return lastNL + 1
	case j == len(s): // \s+(?!\S) at the end of the text
		return j
	case last > i: // \s+(?!\S): the last character joins the next piece
		return last
	}
	return j // \s+: a single white-space character before a non-space
}

// punctTail extends a run of other characters that ends at s[j] by the
// newlines that follow it: [\r\n]*.
func punctTail(s string, j int) int {
	for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
		j++
	}
	return j
}

// Split calls fn with each pre-token piece of s in order. The pieces
// concatenate to s.
func Split(s string, fn func(piece string)) {
	for i := 0; i < len(s); {
		j := nextPiece(s, i)
		fn(s[i:j])
		i = j
	}
}
