package bpe

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testdata = "../../testdata/tokenizer/"

// llama3Config is the Config of the Llama 3 tokenizer.json, read once.
var llama3Config = sync.OnceValues(func() (Config, error) {
	f, err := os.Open(testdata + "tokenizer.json.gz")
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Config{}, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return Config{}, err
	}
	return ParseJSON(data)
})

var llama3 = sync.OnceValues(func() (*Tokenizer, error) {
	cfg, err := llama3Config()
	if err != nil {
		return nil, err
	}
	return New(cfg)
})

func loadLlama3(t testing.TB) *Tokenizer {
	tok, err := llama3()
	require.NoError(t, err)
	return tok
}

type devCase struct {
	Text        string `json:"text"`
	IDs         []int  `json:"ids"`
	IDsOrdinary []int  `json:"ids_ordinary"`
	Cat         string `json:"cat"`
}

func readDevCases(t testing.TB) []devCase {
	f, err := os.Open(testdata + "dev_cases.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var cases []devCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c devCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		cases = append(cases, c)
	}
	require.NoError(t, sc.Err())
	require.Len(t, cases, 247)
	return cases
}

func TestDevCases(t *testing.T) {
	tok := loadLlama3(t)
	for i, c := range readDevCases(t) {
		got := tok.Encode(nil, c.Text, true)
		assert.Equal(t, c.IDs, nonNil(got), "case %d %s %q", i, c.Cat, c.Text)
		got = tok.Encode(nil, c.Text, false)
		assert.Equal(t, c.IDsOrdinary, nonNil(got), "ordinary case %d %s %q", i, c.Cat, c.Text)
		assert.Equal(t, c.Text, tok.Decode(c.IDs), "decode case %d", i)
		assert.Equal(t, c.Text, tok.Decode(c.IDsOrdinary), "decode ordinary case %d", i)
	}
}

func nonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

func splitAll(s string) []string {
	var out []string
	Split(s, func(p string) { out = append(out, p) })
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"words", "Hello world", []string{"Hello", " world"}},
		{"spaces before word", "a   b", []string{"a", "  ", " b"}},
		{"one space", "a b", []string{"a", " b"}},
		{"trailing spaces", "a   ", []string{"a", "   "}},
		{"leading spaces", "   x", []string{"  ", " x"}},
		{"tabs", "\t\tx", []string{"\t", "\tx"}},
		{"tab then digit", "\t1", []string{"\t", "1"}},
		{"digits", "1234567", []string{"123", "456", "7"}},
		{"unicode digits", "١٢٣٤", []string{"١٢٣", "٤"}},
		{"space digits", "a 12", []string{"a", " ", "12"}},
		{"contractions", "I'm you're we'LL he'D it'S", []string{"I", "'m", " you", "'re", " we", "'LL", " he", "'D", " it", "'S"}},
		{"long s", "it'ſ", []string{"it", "'ſ"}},
		{"contraction first", "'sup", []string{"'s", "up"}},
		{"apostrophe word", "'hello", []string{"'hello"}},
		{"double apostrophe", "''s", []string{"''", "s"}},
		{"space apostrophe", " 's", []string{" '", "s"}},
		{"punct prefix", "(hello)", []string{"(hello", ")"}},
		{"punct run", "!!a", []string{"!!", "a"}},
		{"space punct", "a !!", []string{"a", " !!"}},
		{"punct newlines", "}\n\n\tx", []string{"}\n\n", "\tx"}},
		{"newlines", "a\n\nb", []string{"a", "\n\n", "b"}},
		{"space newline space", " \n ", []string{" \n", " "}},
		{"newline run with indent", "\n    \n    x", []string{"\n    \n", "   ", " x"}},
		{"crlf", "a\r\nb", []string{"a", "\r\n", "b"}},
		{"nel prefixes a word", "a\u0085b", []string{"a", "\u0085b"}},
		{"nbsp", "x\u00a0y", []string{"x", "\u00a0y"}},
		{"ideographic space", "x\u3000z", []string{"x", "\u3000z"}},
		{"zwsp is not space", "a\u200bb", []string{"a", "\u200bb"}},
		{"bom is not space", "x \ufeff!", []string{"x", " \ufeff!"}},
		{"combining mark", "cafe\u0301s", []string{"cafe", "\u0301s"}},
		{"mark alone", "e\u0301", []string{"e", "\u0301"}},
		{"invalid utf8", "a\xffb\xfe\xfd", []string{"a", "\xffb", "\xfe\xfd"}},
		{"invalid after space", " \xff", []string{" \xff"}},
		{"cjk", "日本語です。", []string{"日本語です", "。"}},
		{"emoji", "hi 👋🏽!", []string{"hi", " 👋🏽!"}},
		{"supplementary letters", "𝐀𝐁 x", []string{"𝐀𝐁", " x"}},
		{"control chars", "\x00nul\x01", []string{"\x00nul", "\x01"}},
		{"lone newline", "\n", []string{"\n"}},
		{"cr", "a\rb", []string{"a", "\r", "b"}},
		{"punct then cr", "x.\r\n", []string{"x", ".\r\n"}},
		{"tab punct", "\t!", []string{"\t", "!"}},
		{"spaces then punct", "a  !", []string{"a", " ", " !"}},
		{"nel before newline", "a\u0085\nb", []string{"a", "\u0085\n", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitAll(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in, strings.Join(got, ""))
		})
	}
}

func TestByteLevel(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	enc := EncodeBytes(string(all))
	assert.Equal(t, 256, len([]rune(enc)))
	dec, ok := DecodeBytes(enc)
	require.True(t, ok)
	assert.Equal(t, string(all), dec)
	assert.Equal(t, "ĠtheĊ", EncodeBytes(" the\n"))
	_, ok = DecodeBytes("a b") // a raw space is not in the alphabet
	assert.False(t, ok)
	for _, bad := range []string{"\xff", "\xc4", "\xc4(", "\u00ad", "\u0144", "ƀ", "日"} {
		_, ok = DecodeBytes(bad)
		assert.False(t, ok, "%q", bad)
	}
	dec, ok = DecodeBytes("\u0100\u0143\u00a1")
	assert.True(t, ok)
	assert.Equal(t, "\x00\xad\xa1", dec)
}

// tinyTokenizer has the 256 bytes (ids 0..255) and the merges given.
func tinyTokenizer(t testing.TB, extra []string, merges []string, ignoreMerges bool) *Tokenizer {
	toks := make([]string, 256, 256+len(extra))
	for i := range 256 {
		toks[i] = string(byteToRune[i])
	}
	toks = append(toks, extra...)
	tok, err := New(Config{Tokens: toks, Merges: merges, IgnoreMerges: ignoreMerges})
	require.NoError(t, err)
	return tok
}

func TestMerges(t *testing.T) {
	tok := tinyTokenizer(t, []string{"ab", "bc", "abc", "aa", "aaaa"}, []string{"b c", "a b", "ab c", "a a", "aa aa"}, false)
	id := func(s string) int { i, ok := tok.Find(s); require.True(t, ok, s); return i }
	// "b c" ranks first, so "abc" is a + bc, and "ab c" never applies.
	assert.Equal(t, []int{id("a"), id("bc")}, tok.Encode(nil, "abc", false))
	// Leftmost first among equal ranks.
	assert.Equal(t, []int{id("aaaa"), id("a")}, tok.Encode(nil, "aaaaa", false))
	assert.Equal(t, []int{id("aa"), id("a")}, tok.Encode(nil, "aaa", false))

	whole := tinyTokenizer(t, []string{"ab", "bc", "abc"}, []string{"b c", "a b", "ab c"}, true)
	abc, _ := whole.Find("abc")
	assert.Equal(t, []int{abc}, whole.Encode(nil, "abc", false), "ignore_merges takes the whole piece")
}

func TestMergeHeapMatchesQuadratic(t *testing.T) {
	tok := loadLlama3(t)
	inputs := []string{
		strings.Repeat(" ", 200),
		strings.Repeat("a", 300),
		strings.Repeat("ab", 100),
		strings.Repeat("hello", 40),
		"Pneumonoultramicroscopicsilicovolcanoconiosis" + strings.Repeat("x", 30),
		strings.Repeat("日本", 30),
		strings.Repeat("!?", 50),
	}
	for _, in := range inputs {
		for n := 2; n <= len(in); n += 7 {
			piece := in[:n]
			want := tok.appendMergedHeap(nil, piece)
			if n <= smallPiece {
				assert.Equal(t, want, tok.appendMerged(nil, piece), "%q", piece)
			}
			assert.Equal(t, piece, tok.Decode(want))
		}
	}
}

func TestAddedTokens(t *testing.T) {
	toks := make([]string, 0, 260)
	types := make([]TokenType, 0, 260)
	for i := range 256 {
		toks = append(toks, string(byteToRune[i]))
		types = append(types, TypeNormal)
	}
	toks = append(toks, "<|a|>", "<|ab|>", "[x]", "")
	types = append(types, TypeControl, TypeControl, TypeUserDefined, TypeControl)
	tok, err := New(Config{Tokens: toks, Types: types})
	require.NoError(t, err)
	b := func(s string) []int {
		var ids []int
		for i := range len(s) {
			ids = append(ids, int(s[i]))
		}
		return ids
	}
	cat := func(xs ...[]int) []int {
		var out []int
		for _, x := range xs {
			out = append(out, x...)
		}
		return out
	}
	assert.Equal(t, cat(b("x"), []int{256}, b(" "), []int{257}), tok.Encode(nil, "x<|a|> <|ab|>", true))
	assert.Equal(t, cat(b("<|"), []int{256}), tok.Encode(nil, "<|<|a|>", true))
	assert.Equal(t, cat(b("x<|a|>")), tok.Encode(nil, "x<|a|>", false))
	assert.Equal(t, cat(b("a"), []int{258}), tok.Encode(nil, "a[x]", false), "user-defined tokens are always matched")
	assert.Equal(t, cat(b("a"), []int{258}), tok.Encode(nil, "a[x]", true))
	assert.Equal(t, "x<|a|>[x]", tok.Decode([]int{'x', 256, 258, 999, -1}))
	assert.Equal(t, TypeControl, tok.Type(256))
	assert.Equal(t, "", tok.Token(259))
	assert.Equal(t, "", tok.Token(1000))
}

func TestNewErrors(t *testing.T) {
	_, err := New(Config{})
	assert.Error(t, err)
	_, err = New(Config{Tokens: []string{"a"}, Types: []TokenType{1, 1}})
	assert.Error(t, err)
	_, err = New(Config{Tokens: []string{"a"}, Types: []TokenType{9}})
	assert.Error(t, err)
	for _, m := range []string{"ab", " a", "a ", ""} {
		_, err = New(Config{Tokens: []string{"a", "b"}, Merges: []string{m}})
		assert.Error(t, err, "%q", m)
	}
	// Merges naming unknown tokens are skipped.
	tok, err := New(Config{Tokens: []string{"a", "b"}, Merges: []string{"a b", "x y"}})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, tok.Encode(nil, "ab", false))
}

func TestParseJSON(t *testing.T) {
	base := func(pre string, merges string) string {
		return `{"added_tokens":[{"id":3,"content":"<s>","special":true}],"normalizer":null,` +
			`"pre_tokenizer":` + pre + `,` +
			`"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0,"b":1,"ab":2},"merges":` + merges + `}}`
	}
	llamaPre := `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` +
		quote(Llama3Pattern) + `},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`
	for _, merges := range []string{`["a b"]`, `[["a","b"]]`} {
		cfg, err := ParseJSON([]byte(base(llamaPre, merges)))
		require.NoError(t, err)
		tok, err := New(cfg)
		require.NoError(t, err)
		assert.Equal(t, 4, tok.NumTokens())
		assert.Equal(t, []int{2, 3, 0}, tok.Encode(nil, "ab<s>a", true))
		assert.True(t, cfg.IgnoreMerges)
	}
	_, err := ParseJSON([]byte(base(`{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}`, `[]`)))
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = ParseJSON([]byte(base(`null`, `[]`)))
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = ParseJSON([]byte(strings.Replace(base(llamaPre, `[]`), `"BPE"`, `"WordPiece"`, 1)))
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = ParseJSON([]byte(base(llamaPre, `[1]`)))
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrUnsupported)
	_, err = ParseJSON([]byte(`{`))
	assert.Error(t, err)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestEncodeConcurrentWithCache(t *testing.T) {
	tok := loadLlama3(t)
	cases := readDevCases(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := range 3 {
				for i := g; i < len(cases); i += 2 {
					c := cases[i]
					if got := nonNil(tok.Encode(nil, c.Text, true)); !assert.Equal(t, c.IDs, got, "goroutine %d rep %d case %d", g, rep, i) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
