package bpe

import "unicode/utf8"

// GPT-2's byte-level alphabet: every byte value has a printable stand-in
// character, so that token strings can be stored as text. The printable bytes
// '!'..'~', '¡'..'¬' and '®'..'ÿ' stand for themselves; the other 68 bytes map,
// in byte order, to U+0100 and up (space is 'Ġ' U+0120, newline 'Ċ' U+010A).
var (
	byteToRune [256]rune
	runeToByte [256 + 68]int16 // -1 where the rune stands for no byte
)

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = rune(256 + n)
			n++
		}
		byteToRune[b] = r
		runeToByte[r] = int16(b)
	}
}

// EncodeBytes returns s in GPT-2 byte-to-unicode form.
func EncodeBytes(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}

// appendDecoded appends the bytes that s, in GPT-2 byte-to-unicode form,
// stands for. It reports false, with dst unchanged in length, if s holds a
// character outside that alphabet.
func appendDecoded(dst []byte, s string) ([]byte, bool) {
	n0 := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if runeToByte[c] < 0 {
				return dst[:n0], false
			}
			dst = append(dst, c)
			i++
			continue
		}
		// The alphabet is U+00A1..U+0143: two-byte sequences led by C2..C5.
		if c < 0xC2 || c > 0xC5 || i+1 >= len(s) || s[i+1]&0xC0 != 0x80 {
			return dst[:n0], false
		}
		r := rune(c&0x1F)<<6 | rune(s[i+1]&0x3F)
		if r >= rune(len(runeToByte)) || runeToByte[r] < 0 {
			return dst[:n0], false
		}
		dst = append(dst, byte(runeToByte[r]))
		i += 2
	}
	return dst, true
}

// DecodeBytes returns the bytes that s, in GPT-2 byte-to-unicode form, stands
// for, and false if s holds a character outside that alphabet.
func DecodeBytes(s string) (string, bool) {
	b, ok := appendDecoded(make([]byte, 0, len(s)), s)
	return string(b), ok
}
