package bitnet

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/org/bitnet/internal/bpe"
	"github.com/org/bitnet/internal/gguf"
)

const (
	tokTestdata   = "testdata/tokenizer/"
	llama3GGUF    = tokTestdata + "llama3-vocab.gguf"
	llama3JSONGz  = tokTestdata + "tokenizer.json.gz"
	goDemoVocab   = tokTestdata + "go-demo-vocab.gguf"
	devCasesJSONL = tokTestdata + "dev_cases.jsonl"
)

// The 128k vocabulary is loaded once per test binary from each source.
var (
	llama3FromGGUF = sync.OnceValues(func() (*Tokenizer, error) { return LoadTokenizer(llama3GGUF) })
	llama3FromJSON = sync.OnceValues(func() (*Tokenizer, error) {
		data, err := readGzip(llama3JSONGz)
		if err != nil {
			return nil, err
		}
		return parseTokenizerJSON(data, "tokenizer.json", "")
	})
)

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func llama3Tokenizer(t testing.TB) *Tokenizer {
	tok, err := llama3FromGGUF()
	require.NoError(t, err)
	return tok
}

type tokDevCase struct {
	Text        string `json:"text"`
	IDs         []int  `json:"ids"`
	IDsOrdinary []int  `json:"ids_ordinary"`
	Cat         string `json:"cat"`
}

func readTokDevCases(t testing.TB) []tokDevCase {
	f, err := os.Open(devCasesJSONL)
	require.NoError(t, err)
	defer f.Close()
	var cases []tokDevCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c tokDevCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		cases = append(cases, c)
	}
	require.NoError(t, sc.Err())
	require.Len(t, cases, 247)
	return cases
}

func orEmpty(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

func TestTokenizerDevCases(t *testing.T) {
	cases := readTokDevCases(t)
	for _, src := range []struct {
		name string
		load func() (*Tokenizer, error)
	}{
		{"gguf", llama3FromGGUF},
		{"json", llama3FromJSON},
	} {
		t.Run("from="+src.name, func(t *testing.T) {
			tok, err := src.load()
			require.NoError(t, err)
			for i, c := range cases {
				assert.Equal(t, c.IDs, orEmpty(tok.Encode(c.Text)), "Encode, case %d (%s) %q", i, c.Cat, c.Text)
				assert.Equal(t, c.IDsOrdinary, orEmpty(tok.EncodeOrdinary(c.Text)), "EncodeOrdinary, case %d (%s) %q", i, c.Cat, c.Text)
				assert.Equal(t, c.Text, tok.Decode(c.IDs), "Decode, case %d", i)
				assert.Equal(t, c.Text, tok.Decode(c.IDsOrdinary), "Decode ordinary, case %d", i)
			}
		})
	}
}

func TestTokenizerLlama3Metadata(t *testing.T) {
	for _, src := range []struct {
		name   string
		load   func() (*Tokenizer, error)
		addBOS bool
	}{
		{"gguf", llama3FromGGUF, true},
		{"json", llama3FromJSON, true},
	} {
		t.Run("from="+src.name, func(t *testing.T) {
			tok, err := src.load()
			require.NoError(t, err)
			assert.Equal(t, 128256, tok.VocabSize())
			assert.Equal(t, 128000, tok.BOS())
			assert.Equal(t, src.addBOS, tok.AddBOS())
			for id, want := range map[int]bool{128001: true, 128009: true, 128000: false, 128008: false, 0: false, -1: false, 1 << 30: false} {
				assert.Equal(t, want, tok.IsEndOfGeneration(id), "IsEndOfGeneration(%d)", id)
			}
			assert.Equal(t, "<|eot_id|>", tok.TokenText(128009))
			assert.Equal(t, " ", tok.TokenText(220))
			assert.Equal(t, "\n", tok.TokenText(198))
			assert.Equal(t, "", tok.TokenText(-1))
			assert.Equal(t, "", tok.TokenText(128256))
		})
	}
}

// tokenTexts returns the text of each token of Encode(s).
func tokenTexts(tok *Tokenizer, s string) []string {
	var out []string
	for _, id := range tok.Encode(s) {
		out = append(out, tok.TokenText(id))
	}
	return out
}

// TestTokenizerQuirks checks each quirk of the Llama 3 split end to end.
func TestTokenizerQuirks(t *testing.T) {
	tok := llama3Tokenizer(t)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"last space joins the word", "a   b", []string{"a", "  ", " b"}},
		{"trailing spaces stay together", "end   ", []string{"end", "   "}},
		{"one tab prefixes a word", "\t\tx", []string{"\t", "\tx"}},
		{"punctuation prefixes a word", "(hello", []string{"(hello"}},
		{"digits in threes from the left", "1234567", []string{"123", "456", "7"}},
		{"contraction any case", "WE'RE", []string{"WE", "'RE"}},
		{"contraction first", "'sup", []string{"'s", "up"}},
		{"newlines after punctuation", "{\n\n\treturn", []string{"{\n\n", "\treturn"}},
		{"newline run then indent", "x\n\n    y", []string{"x", "\n\n", "   ", " y"}},
		{"NEL is white space", "a\u0085b", []string{"a", "\u0085", "b"}},
		{"ZWSP is not white space", "a \u200bb", []string{"a", " \u200b", "b"}},
		{"special token text", "hi<|eot_id|>", []string{"hi", "<|eot_id|>"}},
		{"invalid UTF-8", "a\xff", []string{"a", "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tokenTexts(tok, tt.in)
			assert.Equal(t, tt.in, strings.Join(got, ""))
			// A piece may take several tokens, but no token crosses the
			// boundary of a piece.
			assert.Equal(t, tt.want, regroup(got, tt.want), "tokens %q", got)
		})
	}
}

// regroup joins consecutive tokens of got into pieces as long as those of
// want. The result equals want only if no token crosses a boundary of want.
func regroup(got, want []string) []string {
	var out []string
	i := 0
	for _, w := range want {
		s := ""
		for i < len(got) && len(s) < len(w) {
			s += got[i]
			i++
		}
		out = append(out, s)
	}
	return append(out, got[i:]...)
}

func TestTokenizerDecodeSkipsOutOfRange(t *testing.T) {
	tok := llama3Tokenizer(t)
	assert.Equal(t, "Hi", tok.Decode([]int{-5, 13347, math.MaxInt, 128256}))
	assert.Equal(t, "", tok.Decode(nil))
	assert.Empty(t, tok.Encode(""))
	assert.Empty(t, tok.EncodeOrdinary(""))
}

func TestTokenizerGoDemo(t *testing.T) {
	tok, err := LoadTokenizer(goDemoVocab)
	require.NoError(t, err)
	assert.Equal(t, 1536, tok.VocabSize())
	assert.Equal(t, 1533, tok.BOS())
	assert.True(t, tok.AddBOS())
	// go-demo.json: the prompt "func main() {\n" after BOS.
	assert.Equal(t, []int{355, 539, 259, 362, 278}, tok.Encode("func main() {\n"))
	assert.True(t, tok.IsEndOfGeneration(1534), "eos_token_id")
	assert.True(t, tok.IsEndOfGeneration(1535), "<|eot_id|> by its text")
	assert.False(t, tok.IsEndOfGeneration(1533))
	assert.Equal(t, []int{1535}, tok.Encode("<|eot_id|>"))
	text := "\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"x: %w\", err)\n\t}\n"
	assert.Equal(t, text, tok.Decode(tok.Encode(text)))
}

// ---- stream decoder ------------------------------------------------------------

func TestStreamDecoder(t *testing.T) {
	tok := llama3Tokenizer(t)
	byteTok := func(bs ...byte) []int {
		var ids []int
		for _, c := range bs {
			id, ok := tok.bpe.Find(string([]byte{c}))
			require.True(t, ok)
			ids = append(ids, id)
		}
		return ids
	}
	tests := []struct {
		name  string
		ids   []int
		want  []string // Add results
		flush string
	}{
		{"ascii", tok.Encode("Hi there"), []string{"Hi", " there"}, ""},
		{"two-byte char split", byteTok(0xC3, 0xA9), []string{"", "é"}, ""},
		{"four-byte char split", byteTok(0xF0, 0x9F, 0x91, 0x8B), []string{"", "", "", "👋"}, ""},
		{"cut char at the end", byteTok('a', 0xF0, 0x9F), []string{"a", "", ""}, "\xF0\x9F"},
		{"lead byte then ascii", byteTok(0xC3, '('), []string{"", "\xC3("}, ""},
		{"bad second byte", byteTok(0xE0, 0x80), []string{"", "\xE0\x80"}, ""},
		{"surrogate", byteTok(0xED, 0xA0), []string{"", "\xED\xA0"}, ""},
		{"stray continuation", byteTok(0x80, 'a'), []string{"\x80", "a"}, ""},
		{"never valid lead", byteTok(0xFF, 0xC0, 0xF5), []string{"\xFF", "\xC0", "\xF5"}, ""},
		{"out of range ids", []int{-1, 1 << 30, 13347}, []string{"", "", "Hi"}, ""},
		{"special token", []int{128009}, []string{"<|eot_id|>"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tok.newStreamDecoder()
			var got []string
			for _, id := range tt.ids {
				got = append(got, d.Add(id))
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.flush, d.Flush())
			assert.Equal(t, tok.Decode(tt.ids), strings.Join(got, "")+tt.flush)
			assert.Equal(t, "", d.Flush())
		})
	}
}

func TestStreamDecoderRealText(t *testing.T) {
	tok := llama3Tokenizer(t)
	for _, c := range readTokDevCases(t) {
		d := tok.newStreamDecoder()
		var sb strings.Builder
		for _, id := range c.IDs {
			s := d.Add(id)
			sb.WriteString(s)
		}
		assert.Equal(t, "", d.Flush(), "%q: valid text leaves nothing to flush", c.Text)
		assert.Equal(t, c.Text, sb.String())
	}
}

func TestPartialTail(t *testing.T) {
	for s, want := range map[string]int{
		"": 0, "a": 0, "é": 0, "\xC3": 1, "a\xE2\x82": 2, "\xE2\x82\xAC": 0, "\xF0\x9F\x91": 3,
		"\xF0\x9F\x91\x8B": 0, "\x80": 0, "\x80\x80\x80": 0, "\xE0\x9F": 0, "\xF4\x90": 0, "\xF4\x8F": 2,
		"\xC1": 0, "\xF5": 0, "\xC3\xC3": 1,
	} {
		assert.Equal(t, want, partialTail(s), "%q", s)
	}
}

// ---- loading and errors ------------------------------------------------------

// tinyVocab returns a GGUF writer with a valid byte-level vocabulary: the
// 256 bytes, "ab", and three special tokens.
func tinyVocab() *gguf.Writer {
	tokens := make([]string, 0, 260)
	types := make([]int32, 0, 260)
	for b := range 256 {
		tokens = append(tokens, bpe.EncodeBytes(string([]byte{byte(b)})))
		types = append(types, 1)
	}
	tokens = append(tokens, "ab", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>")
	types = append(types, 1, 3, 3, 3)
	w := gguf.NewWriter()
	w.Set("general.architecture", "bitnet-b1.58")
	w.Set(keyTokModel, "gpt2")
	w.Set(keyTokens, tokens)
	w.Set(keyTokTypes, types)
	w.Set(keyTokMerges, []string{"a b"})
	w.Set(keyTokBOS, uint32(257))
	w.Set("tokenizer.ggml.eos_token_id", uint32(258))
	return w
}

func ggufTokenizer(t *testing.T, w *gguf.Writer) (*Tokenizer, error) {
	var buf bytes.Buffer
	_, err := w.WriteTo(&buf)
	require.NoError(t, err)
	f, err := gguf.Parse(buf.Bytes())
	require.NoError(t, err)
	return newTokenizerFromGGUF(f)
}

func TestTokenizerFromGGUF(t *testing.T) {
	tok, err := ggufTokenizer(t, tinyVocab())
	require.NoError(t, err)
	assert.Equal(t, []int{256, 'c'}, tok.Encode("abc"))
	assert.Equal(t, "abc", tok.Decode(tok.Encode("abc")))
	assert.Equal(t, 257, tok.BOS())
	assert.True(t, tok.AddBOS())
	assert.True(t, tok.IsEndOfGeneration(258))
	assert.True(t, tok.IsEndOfGeneration(259))

	for _, pre := range []string{"llama-bpe", "llama3"} {
		w := tinyVocab()
		w.Set(keyTokPre, pre)
		_, err := ggufTokenizer(t, w)
		assert.NoError(t, err, pre)
	}

	w := tinyVocab()
	w.Set(keyTokAddBOS, false)
	w.Set("tokenizer.ggml.eot_token_id", uint32(65))
	w.Delete(keyTokBOS)
	tok, err = ggufTokenizer(t, w)
	require.NoError(t, err)
	assert.False(t, tok.AddBOS())
	assert.Equal(t, 257, tok.BOS(), "found by text")
	assert.True(t, tok.IsEndOfGeneration(65), "eot_token_id")
}

func TestTokenizerFromGGUFErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(w *gguf.Writer)
		target error
		key    string
	}{
		{"model llama", func(w *gguf.Writer) { w.Set(keyTokModel, "llama") }, ErrUnsupported, `"llama"`},
		{"pre qwen2", func(w *gguf.Writer) { w.Set(keyTokPre, "qwen2") }, ErrUnsupported, `"qwen2"`},
		{"pre default", func(w *gguf.Writer) { w.Set(keyTokPre, "default") }, ErrUnsupported, `"default"`},
		{"no model", func(w *gguf.Writer) { w.Delete(keyTokModel) }, ErrInvalidModel, keyTokModel},
		{"model not a string", func(w *gguf.Writer) { w.Set(keyTokModel, uint32(2)) }, ErrInvalidModel, keyTokModel},
		{"pre not a string", func(w *gguf.Writer) { w.Set(keyTokPre, true) }, ErrInvalidModel, keyTokPre},
		{"no tokens", func(w *gguf.Writer) { w.Delete(keyTokens) }, ErrInvalidModel, keyTokens},
		{"tokens not strings", func(w *gguf.Writer) { w.Set(keyTokens, []int32{1, 2}) }, ErrInvalidModel, keyTokens},
		{"empty tokens", func(w *gguf.Writer) { w.Set(keyTokens, []string{}); w.Delete(keyTokTypes) }, ErrInvalidModel, keyTokens},
		{"no merges", func(w *gguf.Writer) { w.Delete(keyTokMerges) }, ErrInvalidModel, keyTokMerges},
		{"bad merge", func(w *gguf.Writer) { w.Set(keyTokMerges, []string{"ab"}) }, ErrInvalidModel, keyTokMerges},
		{"types length", func(w *gguf.Writer) { w.Set(keyTokTypes, []int32{1}) }, ErrInvalidModel, keyTokTypes},
		{"types not ints", func(w *gguf.Writer) { w.Set(keyTokTypes, []string{"x"}) }, ErrInvalidModel, keyTokTypes},
		{"bad type", func(w *gguf.Writer) {
			types := make([]int32, 260)
			types[3] = 42
			w.Set(keyTokTypes, types)
		}, ErrInvalidModel, keyTokTypes},
		{"bos out of range", func(w *gguf.Writer) { w.Set(keyTokBOS, uint32(260)) }, ErrInvalidModel, keyTokBOS},
		{"bos negative", func(w *gguf.Writer) { w.Set(keyTokBOS, int32(-1)) }, ErrInvalidModel, keyTokBOS},
		{"eos not an int", func(w *gguf.Writer) { w.Set("tokenizer.ggml.eos_token_id", "x") }, ErrInvalidModel, "eos_token_id"},
		{"add_bos not a bool", func(w *gguf.Writer) { w.Set(keyTokAddBOS, uint8(1)) }, ErrInvalidModel, keyTokAddBOS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tinyVocab()
			tt.edit(w)
			_, err := ggufTokenizer(t, w)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.target)
			assert.Contains(t, err.Error(), tt.key)
			assert.True(t, strings.HasPrefix(err.Error(), "bitnet:"), err.Error())
		})
	}
}

// tinyJSON is a tokenizer.json with the Llama 3 split, the bytes
// "a" "b" "c" " " "Ġ"-encoded, one merge and three added tokens.
func tinyJSON(pattern string) string {
	pat, _ := json.Marshal(pattern)
	return `{"version":"1.0","added_tokens":[` +
		`{"id":5,"content":"<|begin_of_text|>","special":true},` +
		`{"id":6,"content":"<|end_of_text|>","special":true},` +
		`{"id":7,"content":"<|eot_id|>","special":true}],` +
		`"normalizer":null,"pre_tokenizer":{"type":"Sequence","pretokenizers":[` +
		`{"type":"Split","pattern":{"Regex":` + string(pat) + `},"behavior":"Isolated","invert":false},` +
		`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]},` +
		`"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0,"b":1,"c":2,"Ġ":3,"ab":4},"merges":[["a","b"]]}}`
}

func TestLoadTokenizerJSON(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tinyJSON(bpe.Llama3Pattern)), 0o644))

	tok, err := LoadTokenizer(dir)
	require.NoError(t, err)
	assert.Equal(t, 8, tok.VocabSize())
	assert.Equal(t, 5, tok.BOS(), "found by text")
	assert.True(t, tok.AddBOS())
	assert.Equal(t, []int{4, 2, 3, 0, 7}, tok.Encode("abc a<|eot_id|>"))
	assert.True(t, tok.IsEndOfGeneration(6))
	assert.True(t, tok.IsEndOfGeneration(7))
	assert.False(t, tok.IsEndOfGeneration(4))

	// The configuration files next to it name BOS and more ends.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"),
		[]byte(`{"bos_token":{"content":"<|end_of_text|>"},"eos_token":"ab"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "generation_config.json"),
		[]byte(`{"bos_token_id":1,"eos_token_id":[2,3]}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"),
		[]byte(`{"eos_token_id":0,"bos_token_id":null}`), 0o644))
	tok, err = LoadTokenizer(filepath.Join(dir, "tokenizer.json"))
	require.NoError(t, err)
	assert.Equal(t, 6, tok.BOS())
	for id, want := range []bool{true, false, true, true, true, false, true, true} {
		assert.Equal(t, want, tok.IsEndOfGeneration(id), "id %d", id)
	}

	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{`), 0o644))
	_, err = LoadTokenizer(dir)
	assert.ErrorIs(t, err, ErrInvalidModel)
}

func TestLoadTokenizerErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	_, err := LoadTokenizer(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = LoadTokenizer(dir) // no tokenizer.json
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = LoadTokenizer(write("gpt2.json", tinyJSON(`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`)))
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = LoadTokenizer(write("bad.json", `{"model":`))
	assert.ErrorIs(t, err, ErrInvalidModel)
	_, err = LoadTokenizer(write("trunc.gguf", "GGUF\x03\x00"))
	assert.ErrorIs(t, err, ErrInvalidModel)
	assert.True(t, strings.HasPrefix(err.Error(), "bitnet:"), err.Error())
	assert.False(t, errors.Is(err, ErrUnsupported))
}
