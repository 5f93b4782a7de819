package bitnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/org/bitnet/internal/bpe"
	"github.com/org/bitnet/internal/gguf"
)

// Tokenizer converts between text and token ids: the Llama 3 byte-level BPE
// that BitNet b1.58 2B4T uses (FORMATS.md §4). A Tokenizer is safe for
// concurrent use.
type Tokenizer struct {
	bpe    *bpe.Tokenizer
	bos    int   // -1: none
	addBOS bool  // whether prompts start with bos
	eog    []int // end-of-generation ids, sorted
}

// Token texts that end generation whatever the file says (decision 8).
var eogTexts = []string{"<|end_of_text|>", "<|eot_id|>"}

// newTokenizer wraps t. bos is -1 when there is none; eog lists the ids the
// file marks as ends of generation, to which the ids of eogTexts are added.
func newTokenizer(t *bpe.Tokenizer, bos int, addBOS bool, eog []int) *Tokenizer {
	tok := &Tokenizer{bpe: t, bos: bos, addBOS: addBOS && bos >= 0}
	for _, s := range eogTexts {
		if id, ok := t.Find(s); ok {
			eog = append(eog, id)
		}
	}
	slices.Sort(eog)
	tok.eog = slices.Compact(eog)
	return tok
}

// Encode returns the token ids of text, with no BOS. Special-token text in
// text, such as "<|eot_id|>", becomes that special token.
func (t *Tokenizer) Encode(text string) []int {
	return t.bpe.Encode(nil, text, true)
}

// EncodeOrdinary returns the token ids of text, with no BOS. All of text is
// ordinary text: "<|eot_id|>" gives the tokens of those characters.
func (t *Tokenizer) EncodeOrdinary(text string) []int {
	return t.bpe.Encode(nil, text, false)
}

// Decode returns the text of the tokens ids: their bytes concatenated, with
// no clean-up of spaces. Special tokens give their text ("<|eot_id|>"). Ids
// out of range are skipped. The result is not valid UTF-8 when ids end, or
// are cut, inside a character.
func (t *Tokenizer) Decode(ids []int) string {
	return t.bpe.Decode(ids)
}

// TokenText returns the bytes of one token, or "" if id is out of range.
// It may hold part of a UTF-8 character.
func (t *Tokenizer) TokenText(id int) string {
	return t.bpe.Token(id)
}

// VocabSize returns the number of tokens, special tokens included.
func (t *Tokenizer) VocabSize() int { return t.bpe.NumTokens() }

// BOS returns the id of the beginning-of-text token, or -1 if the
// vocabulary has none.
func (t *Tokenizer) BOS() int { return t.bos }

// AddBOS reports whether a prompt's tokens should start with BOS
// (tokenizer.ggml.add_bos_token in a GGUF file, true when absent; for a
// tokenizer.json, true when there is a BOS token).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// IsEndOfGeneration reports whether generation stops at token id:
// <|end_of_text|>, <|eot_id|>, and the tokens the file marks as end of
// sequence, turn or message.
func (t *Tokenizer) IsEndOfGeneration(id int) bool {
	_, found := slices.BinarySearch(t.eog, id)
	return found
}

// ---- streaming ---------------------------------------------------------------

// streamDecoder turns generated tokens into text as they come. A token may
// end inside a UTF-8 character; its bytes wait until the character is
// complete. Concatenating every Add result and the final Flush gives exactly
// Decode of the same ids.
type streamDecoder struct {
	t   *Tokenizer
	buf []byte // bytes not yet returned: an incomplete character, at most 3 bytes
}

func (t *Tokenizer) newStreamDecoder() *streamDecoder {
	return &streamDecoder{t: t}
}

// Add returns the text that token id completes: "" while a UTF-8 character
// is still partial. Bytes that cannot become valid UTF-8 are returned at
// once, as they are. An id out of range adds nothing.
func (d *streamDecoder) Add(id int) string {
	tok := d.t.bpe.Token(id)
	if len(d.buf) == 0 {
		n := len(tok) - partialTail(tok)
		d.buf = append(d.buf, tok[n:]...)
		return tok[:n]
	}
	d.buf = append(d.buf, tok...)
	n := len(d.buf) - partialTail(unsafe.String(unsafe.SliceData(d.buf), len(d.buf)))
	out := string(d.buf[:n])
	d.buf = append(d.buf[:0], d.buf[n:]...)
	return out
}

// Flush returns the bytes still held (an incomplete character at the end of
// the stream) and resets the decoder.
func (d *streamDecoder) Flush() string {
	out := string(d.buf)
	d.buf = d.buf[:0]
	return out
}

// partialTail returns the length of the incomplete UTF-8 character at the end
// of s: a proper prefix of a valid encoding that more bytes could complete.
// It is 0 if s ends with a complete character or with bytes that can never
// be valid.
func partialTail(s string) int {
	for k := 1; k <= 3 && k <= len(s); k++ {
		c := s[len(s)-k]
		if c < 0x80 {
			return 0
		}
		if c < 0xC0 {
			continue // continuation byte: look further back
		}
		// c leads a sequence; the k bytes from it must be a proper prefix.
		need := 0
		lo, hi := byte(0x80), byte(0xBF) // range of the second byte
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 2
		case c >= 0xE0 && c <= 0xEF:
			need = 3
			if c == 0xE0 {
				lo = 0xA0
			} else if c == 0xED {
				hi = 0x9F
			}
		case c >= 0xF0 && c <= 0xF4:
			need = 4
			if c == 0xF0 {
				lo = 0x90
			} else if c == 0xF4 {
				hi = 0x8F
			}
		default:
			return 0
		}
		if k >= need {
			return 0
		}
		if k >= 2 && (s[len(s)-k+1] < lo || s[len(s)-k+1] > hi) {
			return 0
		}
		return k // later bytes, if any, are continuation bytes (checked above)
	}
	return 0
}

// ---- loading -----------------------------------------------------------------

// LoadTokenizer reads only the tokenizer from a GGUF file, a Hugging Face
// tokenizer.json file, or a Hugging Face model directory holding
// tokenizer.json.
func LoadTokenizer(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	if st.IsDir() {
		return loadTokenizerJSON(path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	var magic [4]byte
	n, _ := fh.Read(magic[:])
	fh.Close()
	if string(magic[:n]) != gguf.Magic {
		return loadTokenizerJSON(path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, gguf.ErrUnsupported):
			return nil, fmt.Errorf("%w: %s: %w", ErrUnsupported, path, err)
		case errors.Is(err, gguf.ErrFormat):
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, path, err)
		}
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	defer f.Close()
	return newTokenizerFromGGUF(f)
}

// GGUF metadata keys of the tokenizer.
const (
	keyTokModel  = "tokenizer.ggml.model"
	keyTokPre    = "tokenizer.ggml.pre"
	keyTokens    = "tokenizer.ggml.tokens"
	keyTokTypes  = "tokenizer.ggml.token_type"
	keyTokMerges = "tokenizer.ggml.merges"
	keyTokBOS    = "tokenizer.ggml.bos_token_id"
	keyTokAddBOS = "tokenizer.ggml.add_bos_token"
)

// GGUF keys whose token ids end generation.
var eogKeys = []string{"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}

// newTokenizerFromGGUF builds the tokenizer stored in a GGUF file's
// tokenizer.ggml.* keys. It needs only the metadata, and keeps no reference
// to f.
func newTokenizerFromGGUF(f *gguf.File) (*Tokenizer, error) {
	invalid := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidModel, key, fmt.Sprintf(format, args...))
	}
	model, ok := f.GetString(keyTokModel)
	switch {
	case !f.Has(keyTokModel):
		return nil, invalid(keyTokModel, "missing")
	case !ok:
		return nil, invalid(keyTokModel, "not a string")
	case model != "gpt2":
		return nil, fmt.Errorf("%w: tokenizer model %q (%s); only \"gpt2\" (byte-level BPE) is supported", ErrUnsupported, model, keyTokModel)
	}
	if f.Has(keyTokPre) {
		pre, ok := f.GetString(keyTokPre)
		if !ok {
			return nil, invalid(keyTokPre, "not a string")
		}
		if pre != "llama-bpe" && pre != "llama3" {
			return nil, fmt.Errorf("%w: pre-tokenizer %q (%s); only the Llama 3 split (\"llama-bpe\", \"llama3\" or no key) is supported", ErrUnsupported, pre, keyTokPre)
		}
	}

	// The strings point into f's data, which stays mapped until New has
	// copied what it keeps.
	tokens, err := ggufStrings(f, keyTokens)
	if err != nil {
		return nil, err
	}
	merges, err := ggufStrings(f, keyTokMerges)
	if err != nil {
		return nil, err
	}
	cfg := bpe.Config{Tokens: tokens, Merges: merges, IgnoreMerges: true}
	if f.Has(keyTokTypes) {
		types, ok := f.GetInts(keyTokTypes)
		if !ok {
			return nil, invalid(keyTokTypes, "not an array of integers")
		}
		if len(types) != len(tokens) {
			return nil, invalid(keyTokTypes, "%d types for %d tokens", len(types), len(tokens))
		}
		cfg.Types = make([]bpe.TokenType, len(types))
		for i, x := range types {
			if x < int64(bpe.TypeUndefined) || x > int64(bpe.TypeByte) {
				return nil, invalid(keyTokTypes, "token %d has unknown type %d", i, x)
			}
			cfg.Types[i] = bpe.TokenType(x)
		}
	}
	b, err := bpe.New(cfg)
	if err != nil {
		var ce *bpe.ConfigError
		if errors.As(err, &ce) {
			key := map[string]string{"Types": keyTokTypes, "Merges": keyTokMerges}[ce.Field]
			if key == "" {
				key = keyTokens
			}
			return nil, invalid(key, "%s", ce.Msg)
		}
		return nil, invalid(keyTokens, "%v", err)
	}

	id := func(key string) (int, bool, error) {
		if !f.Has(key) {
			return -1, false, nil
		}
		v, ok := f.GetUint(key)
		if !ok || v >= uint64(len(tokens)) {
			return -1, false, invalid(key, "not a token id below %d", len(tokens))
		}
		return int(v), true, nil
	}
	bos, ok, err := id(keyTokBOS)
	if err != nil {
		return nil, err
	}
	if !ok {
		bos = findToken(b, "<|begin_of_text|>")
	}
	addBOS := true
	if f.Has(keyTokAddBOS) {
		if addBOS, ok = f.GetBool(keyTokAddBOS); !ok {
			return nil, invalid(keyTokAddBOS, "not a bool")
		}
	}
	var eog []int
	for _, key := range eogKeys {
		e, ok, err := id(key)
		if err != nil {
			return nil, err
		}
		if ok {
			eog = append(eog, e)
		}
	}
	return newTokenizer(b, bos, addBOS, eog), nil
}

// ggufStrings returns the array of strings under key without copying them:
// they point into f's data.
func ggufStrings(f *gguf.File, key string) ([]string, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, fmt.Errorf("%w: %s: missing", ErrInvalidModel, key)
	}
	var out []string
	if v.Type == gguf.TypeArray {
		out = make([]string, 0, v.Count)
	}
	if !v.EachString(func(_ int, b []byte) {
		out = append(out, unsafe.String(unsafe.SliceData(b), len(b)))
	}) {
		return nil, fmt.Errorf("%w: %s: not an array of strings", ErrInvalidModel, key)
	}
	return out, nil
}

func findToken(b *bpe.Tokenizer, text string) int {
	if id, ok := b.Find(text); ok {
		return id
	}
	return -1
}

// loadTokenizerJSON reads a Hugging Face tokenizer: path is a tokenizer.json
// file or a directory holding one. The ids of BOS and of the tokens that end
// generation come from tokenizer_config.json, generation_config.json and
// config.json next to it, when present, and from the token texts.
func loadTokenizerJSON(path string) (*Tokenizer, error) {
	dir, file := filepath.Dir(path), path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		dir, file = path, filepath.Join(path, "tokenizer.json")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("bitnet: %w", err)
	}
	return parseTokenizerJSON(data, file, dir)
}

// parseTokenizerJSON builds a tokenizer from the contents of a
// tokenizer.json (name is for messages) and the configuration files in dir,
// if dir is not "".
func parseTokenizerJSON(data []byte, name, dir string) (*Tokenizer, error) {
	cfg, err := bpe.ParseJSON(data)
	if err != nil {
		if errors.Is(err, bpe.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnsupported, name, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, name, err)
	}
	b, err := bpe.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, name, err)
	}
	bos := -1
	var eog []int
	if dir != "" {
		var err error
		if bos, eog, err = readHFTokenConfig(b, dir); err != nil {
			return nil, err
		}
	}
	if bos < 0 {
		bos = findToken(b, "<|begin_of_text|>")
	}
	return newTokenizer(b, bos, true, eog), nil
}

// readHFTokenConfig reads the BOS id and end-of-generation ids from the
// Hugging Face configuration files in dir; missing files are skipped.
func readHFTokenConfig(b *bpe.Tokenizer, dir string) (bos int, eog []int, err error) {
	bos = -1
	read := func(name string, v any) (bool, error) {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err == nil {
			err = json.Unmarshal(data, v)
		}
		if err != nil {
			return false, fmt.Errorf("%w: %s: %w", ErrInvalidModel, p, err)
		}
		return true, nil
	}
	// tokenizer_config.json names the tokens by text, either as a string or
	// as an object with "content".
	var tc struct {
		BOS bpe.TokenName `json:"bos_token"`
		EOS bpe.TokenName `json:"eos_token"`
	}
	if _, err := read("tokenizer_config.json", &tc); err != nil {
		return -1, nil, err
	}
	if id, ok := b.Find(string(tc.BOS)); ok && tc.BOS != "" {
		bos = id
	}
	if id, ok := b.Find(string(tc.EOS)); ok && tc.EOS != "" {
		eog = append(eog, id)
	}
	// generation_config.json and config.json give ids: one or a list.
	for _, name := range []string{"generation_config.json", "config.json"} {
		var gc struct {
			BOS hfTokenIDs `json:"bos_token_id"`
			EOS hfTokenIDs `json:"eos_token_id"`
		}
		if _, err := read(name, &gc); err != nil {
			return -1, nil, err
		}
		if bos < 0 && len(gc.BOS) > 0 && gc.BOS[0] >= 0 && gc.BOS[0] < b.NumTokens() {
			bos = gc.BOS[0]
		}
		for _, id := range gc.EOS {
			if id >= 0 && id < b.NumTokens() {
				eog = append(eog, id)
			}
		}
	}
	return bos, eog, nil
}

// hfTokenIDs is a token id field of config.json: a number, a list of
// numbers, or null.
type hfTokenIDs []int

func (ids *hfTokenIDs) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var one int
	if json.Unmarshal(data, &one) == nil {
		*ids = hfTokenIDs{one}
		return nil
	}
	var many []int
	if json.Unmarshal(data, &many) == nil {
		*ids = many
	}
	return nil
}
