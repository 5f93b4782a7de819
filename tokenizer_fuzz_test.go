package bitnet

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func addTokenizerSeeds(f *testing.F) {
	for _, s := range []string{
		"", " ", "Hello world!", "a   b\n\n\tc", "<|eot_id|>x<|begin_of_text|>", "<|eot_id",
		"1234567 ١٢٣", "I'M 'sup it'ſ", "\xff\xfe\xc3", "👋🏽 日本語", "x\u0085y\u200bz\ufeff",
		"func main() {\n\tfmt.Println(\"hi\")\n}\n", strings.Repeat("ab", 100), strings.Repeat(" ", 70) + "x",
	} {
		f.Add(s)
	}
}

// FuzzEncode: encoding never panics and decodes back to the same bytes, with
// or without special tokens, for any byte string.
func FuzzEncode(f *testing.F) {
	addTokenizerSeeds(f)
	tok := llama3Tokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		ord := tok.EncodeOrdinary(s)
		if got := tok.Decode(ord); got != s {
			t.Fatalf("Decode(EncodeOrdinary(%q)) = %q", s, got)
		}
		for _, id := range ord {
			if id >= 128000 {
				t.Fatalf("EncodeOrdinary(%q) gave special token %d", s, id)
			}
		}
		if !strings.Contains(s, "<|") && len(ids) != len(ord) {
			t.Fatalf("Encode and EncodeOrdinary differ on %q with no special token text", s)
		}
	})
}

// FuzzStreamDecoder: the streamed pieces concatenate to Decode, and each
// piece is emitted as soon as it is known.
func FuzzStreamDecoder(f *testing.F) {
	addTokenizerSeeds(f)
	tok := llama3Tokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		// The ids of s, and the same cut into single-byte tokens, so that
		// characters are split across tokens.
		for _, ids := range [][]int{tok.EncodeOrdinary(s), byteIDs(tok, s)} {
			d := tok.newStreamDecoder()
			var sb strings.Builder
			for _, id := range ids {
				piece := d.Add(id)
				sb.WriteString(piece)
				if len(d.buf) > 3 || len(d.buf) > 0 && utf8.FullRune(d.buf) {
					t.Fatalf("holding %q after %q", d.buf, sb.String())
				}
			}
			sb.WriteString(d.Flush())
			if want := tok.Decode(ids); sb.String() != want {
				t.Fatalf("stream gave %q, Decode %q", sb.String(), want)
			}
		}
	})
}

func byteIDs(tok *Tokenizer, s string) []int {
	ids := make([]int, 0, len(s))
	for i := 0; i < len(s); i++ {
		if id, ok := tok.bpe.Find(s[i : i+1]); ok {
			ids = append(ids, id)
		}
	}
	return ids
}
