// Package bpe is a byte-level BPE tokenizer with the Llama 3 pre-tokenizer
// split: Llama 3, and so BitNet b1.58 2B4T.
//
// A Tokenizer is built from plain data (New) or from a Hugging Face
// tokenizer.json (ParseJSON). Encoding cuts the text around added tokens
// (special tokens such as <|eot_id|>), splits the rest with the Llama 3
// pattern, looks each piece up whole in the vocabulary and, when that fails,
// merges its bytes by merge rank. A Tokenizer is safe for concurrent use.
package bpe

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// TokenType is the kind of a token, with llama.cpp's numbering
// (tokenizer.ggml.token_type).
type TokenType int32

// Token types.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3 // special tokens: <|begin_of_text|>, <|eot_id|>, ...
	TypeUserDefined TokenType = 4 // added tokens that are not special
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// rawText reports whether tokens of this type hold their text as is rather
// than in GPT-2 byte-to-unicode form. These are the added tokens, which
// encoding matches in the text before the split.
func (t TokenType) rawText() bool { return t == TypeControl || t == TypeUserDefined }

// ErrUnsupported is wrapped by errors about valid tokenizer data that this
// package cannot run (another model type or pre-tokenizer split).
var ErrUnsupported = errors.New("unsupported tokenizer")

// ConfigError reports malformed data in a field of a Config.
type ConfigError struct {
	Field string // "Tokens", "Types", "Merges" or "MergePairs"
	Msg   string
}

// Error returns the field and what is wrong with it.
func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

func configError(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Config is the data a Tokenizer is built from.
type Config struct {
	// Tokens holds the text of each token, indexed by id. Control and
	// user-defined tokens hold their text as is; all others are in GPT-2
	// byte-to-unicode form ("Ġthe" for " the"). A token that is not in that
	// form is taken as is.
	Tokens []string
	// Types holds the type of each token; nil means all are normal.
	Types []TokenType
	// Merges lists the merges by rank, lowest first, each "A B" (two token
	// texts in GPT-2 form separated by one space). MergePairs is the same
	// with the two halves apart; both may be given, Merges ranking first.
	// A merge whose halves or result are not tokens is ignored.
	Merges     []string
	MergePairs [][2]string
	// IgnoreMerges makes a piece that is a token by itself encode as that
	// token, without merging its bytes (Hugging Face's ignore_merges, and
	// llama.cpp's Llama 3 behaviour).
	IgnoreMerges bool
}

// Tokenizer is a byte-level BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	text  string   // the bytes of all tokens, back to back
	offs  []uint32 // token i is text[offs[i]:offs[i+1]]
	types []TokenType

	vocab        strTable       // bytes → id, for the tokens BPE may produce
	dups         map[int32]bool // tokens whose bytes an earlier token has
	byteID       [256]int32     // the token of each single byte, or -1
	pairs        pairTable
	ignoreMerges bool

	cache pieceCache

	added   matcher // all added tokens (Encode)
	userDef matcher // user-defined added tokens only (EncodeOrdinary)
}

// New builds a Tokenizer from cfg.
func New(cfg Config) (*Tokenizer, error) {
	n := len(cfg.Tokens)
	if n == 0 {
		return nil, configError("Tokens", "no tokens")
	}
	if uint64(n) >= 1<<31-1 {
		return nil, configError("Tokens", "%d tokens: too many", n)
	}
	if cfg.Types != nil && len(cfg.Types) != n {
		return nil, configError("Types", "%d token types for %d tokens", len(cfg.Types), n)
	}
	// The merges decode while the vocabulary is built.
	var mt *mergeText
	var mergeErr error
	var wg sync.WaitGroup
	wg.Go(func() { mt, mergeErr = decodeMerges(cfg) })
	defer wg.Wait()

	t := &Tokenizer{
		offs:         make([]uint32, n+1),
		types:        make([]TokenType, n),
		ignoreMerges: cfg.IgnoreMerges,
	}
	size := uint64(0)
	for _, s := range cfg.Tokens {
		size += uint64(len(s))
	}
	if size >= 1<<32 {
		return nil, configError("Tokens", "token text too long")
	}
	buf := make([]byte, 0, size)
	for i, s := range cfg.Tokens {
		typ := TypeNormal
		if cfg.Types != nil {
			typ = cfg.Types[i]
			if typ < TypeUndefined || typ > TypeByte {
				return nil, configError("Types", "token %d: unknown type %d", i, typ)
			}
		}
		t.types[i] = typ
		ok := false
		if !typ.rawText() {
			buf, ok = appendDecoded(buf, s)
		}
		if !ok {
			buf = append(buf, s...)
		}
		t.offs[i+1] = uint32(len(buf))
	}
	t.text = unsafe.String(unsafe.SliceData(buf), len(buf))
	if len(buf) == 0 {
		t.text = ""
	}

	for i := range t.byteID {
		t.byteID[i] = -1
	}
	t.vocab = newStrTable(t, n)
	var added, userDef, normal []int32
	for i := range n {
		switch {
		case t.types[i].rawText():
			if t.offs[i] != t.offs[i+1] {
				added = append(added, int32(i))
				if t.types[i] == TypeUserDefined {
					userDef = append(userDef, int32(i))
				}
			}
		case t.offs[i] != t.offs[i+1]:
			normal = append(normal, int32(i))
		}
	}
	for _, id := range t.vocab.addAll(normal) {
		if t.dups == nil {
			t.dups = make(map[int32]bool)
		}
		t.dups[id] = true
	}
	for _, id := range normal {
		if s := t.token(id); len(s) == 1 && !t.dups[id] {
			t.byteID[s[0]] = id
		}
	}
	t.added = newMatcher(t, added)
	t.userDef = newMatcher(t, userDef)

	if wg.Wait(); mergeErr != nil {
		return nil, mergeErr
	}
	t.addMerges(mt)
	return t, nil
}

// token returns the bytes of token id, which must be in range.
func (t *Tokenizer) token(id int32) string { return t.text[t.offs[id]:t.offs[id+1]] }

// mergeText holds the merges decoded to bytes: merge r is
// text[offs[r]:offs[r+1]], its first token ending at mids[r].
type mergeText struct {
	text       string
	offs, mids []uint32
}

// half returns the first (k even) or second (k odd) token of merge k/2.
func (m *mergeText) half(k int) string {
	if r := k >> 1; k&1 == 0 {
		return m.text[m.offs[r]:m.mids[r]]
	}
	r := k >> 1
	return m.text[m.mids[r]:m.offs[r+1]]
}

func decodeMerges(cfg Config) (*mergeText, error) {
	n := len(cfg.Merges) + len(cfg.MergePairs)
	size := 0
	for _, m := range cfg.Merges {
		size += len(m)
	}
	for _, m := range cfg.MergePairs {
		size += len(m[0]) + len(m[1])
	}
	if uint64(size) >= 1<<32 {
		return nil, configError("Merges", "merge text too long")
	}
	text := make([]byte, 0, size)
	mt := &mergeText{offs: make([]uint32, n+1), mids: make([]uint32, n)}
	for r, m := range cfg.Merges {
		sp := -1
		if len(m) > 1 {
			sp = strings.IndexByte(m[1:], ' ') + 1
		}
		if sp <= 0 || sp == len(m)-1 {
			return nil, configError("Merges", "merge %d (%q): not two tokens separated by a space", r, m)
		}
		text = appendText(text, m[:sp])
		mt.mids[r] = uint32(len(text))
		text = appendText(text, m[sp+1:])
		mt.offs[r+1] = uint32(len(text))
	}
	for i, m := range cfg.MergePairs {
		if m[0] == "" || m[1] == "" {
			return nil, configError("MergePairs", "merge %d (%q): empty token", i, m)
		}
		r := len(cfg.Merges) + i
		text = appendText(text, m[0])
		mt.mids[r] = uint32(len(text))
		text = appendText(text, m[1])
		mt.offs[r+1] = uint32(len(text))
	}
	mt.text = unsafe.String(unsafe.SliceData(text), len(text))
	return mt, nil
}

// addMerges builds the pair table from the decoded merges.
func (t *Tokenizer) addMerges(mt *mergeText) {
	n := len(mt.mids)
	// The ids of both halves of every merge, looked up in parallel chunks.
	halves := make([]int32, 2*n)
	chunks := min(runtime.GOMAXPROCS(0), 4, max(len(halves)/(1<<16), 1))
	var wg sync.WaitGroup
	for c := range chunks {
		lo, hi := len(halves)*c/chunks, len(halves)*(c+1)/chunks
		wg.Go(func() {
			t.vocab.getAll(halves[lo:hi], func(k int) string { return mt.half(lo + k) })
		})
	}
	wg.Wait()

	// The merged tokens. In files converted from tiktoken (Llama 3), they
	// come in id order: a merge gives the token of the one before it (other
	// splits of the same token) or the next one.
	merged := make([]int32, n)
	keys := make([]uint64, n)
	idBits := bits.Len(uint(len(t.types)))
	prev := int32(-1)
	for r := range n {
		merged[r] = -1
		ia, ib := halves[2*r], halves[2*r+1]
		if ia < 0 || ib < 0 {
			continue
		}
		ab := mt.text[mt.offs[r]:mt.offs[r+1]]
		m := prev
		if !t.isVocab(m) || t.token(m) != ab {
			if m++; !t.isVocab(m) || t.token(m) != ab {
				if m = t.vocab.get(ab); m < 0 {
					continue
				}
			}
		}
		merged[r], prev = m, m
		keys[r] = uint64(ia)<<idBits | uint64(ib)
	}
	t.pairs = newPairTable(len(t.types), merged, keys)
}

// appendText appends the bytes that token text s, in GPT-2 form, stands for;
// s as is if it is not in that form.
func appendText(dst []byte, s string) []byte {
	dst, ok := appendDecoded(dst, s)
	if !ok {
		dst = append(dst, s...)
	}
	return dst
}

// isVocab reports whether id is in range and is the token that the
// vocabulary lookup gives for its bytes.
func (t *Tokenizer) isVocab(id int32) bool {
	return id >= 0 && int(id) < len(t.types) && !t.types[id].rawText() &&
		t.offs[id] != t.offs[id+1] && !t.dups[id]
}

// NumTokens returns the number of tokens (the vocabulary size).
func (t *Tokenizer) NumTokens() int { return len(t.types) }

// Token returns the bytes of token id, or "" if id is out of range.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.types) {
		return ""
	}
	return t.token(int32(id))
}

// Type returns the type of token id, or TypeUndefined if id is out of range.
func (t *Tokenizer) Type(id int) TokenType {
	if id < 0 || id >= len(t.types) {
		return TypeUndefined
	}
	return t.types[id]
}

// Find returns the id of the token whose bytes are s, searching the tokens
// that BPE produces first and then the added tokens, and false if there is
// none.
func (t *Tokenizer) Find(s string) (int, bool) {
	if id := t.vocab.get(s); id >= 0 {
		return int(id), true
	}
	if id, ok := t.added.ids[s]; ok {
		return int(id), true
	}
	return 0, false
}

// Encode appends the ids of text to dst and returns the extended slice.
// With special set, the text of every added token (special tokens such as
// <|eot_id|> included) becomes that token; otherwise only user-defined added
// tokens do, and special-token text is ordinary text.
func (t *Tokenizer) Encode(dst []int, text string, special bool) []int {
	m := &t.userDef
	if special {
		m = &t.added
	}
	if dst == nil {
		dst = make([]int, 0, len(text)/3+1)
	}
	for len(text) > 0 {
		pos, end, id := m.find(text)
		if pos < 0 {
			return t.encodeText(dst, text)
		}
		dst = t.encodeText(dst, text[:pos])
		dst = append(dst, int(id))
		text = text[end:]
	}
	return dst
}

// encodeText appends the ids of text, which holds no added tokens.
func (t *Tokenizer) encodeText(dst []int, text string) []int {
	for i := 0; i < len(text); {
		j := nextPiece(text, i)
		dst = t.appendPiece(dst, text[i:j])
		i = j
	}
	return dst
}

// appendPiece appends the ids of one pre-token piece.
func (t *Tokenizer) appendPiece(dst []int, piece string) []int {
	if len(piece) == 1 {
		if id := t.byteID[piece[0]]; id >= 0 {
			return append(dst, int(id))
		}
		return dst
	}
	g, home := t.vocab.home(piece)
	if t.ignoreMerges {
		if id := t.vocab.getAt(piece, g, home); id >= 0 {
			return append(dst, int(id))
		}
	}
	if len(piece) > cacheMaxPiece {
		return t.appendMerged(dst, piece)
	}
	h := uint64(home) ^ g // any mix of the hash will do for the cache
	dst, ok := t.cache.get(dst, piece, h)
	if !ok {
		n := len(dst)
		dst = t.appendMerged(dst, piece)
		t.cache.put(piece, h, dst[n:])
	}
	return dst
}

// AppendDecode appends the bytes of the tokens ids to dst and returns the
// extended slice. Ids out of range are skipped.
func (t *Tokenizer) AppendDecode(dst []byte, ids []int) []byte {
	for _, id := range ids {
		if id >= 0 && id < len(t.types) {
			dst = append(dst, t.token(int32(id))...)
		}
	}
	return dst
}

// Decode returns the bytes of the tokens ids, concatenated with no clean-up.
// Ids out of range are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	n := 0
	for _, id := range ids {
		if id >= 0 && id < len(t.types) {
			n += int(t.offs[id+1] - t.offs[id])
		}
	}
	return string(t.AppendDecode(make([]byte, 0, n), ids))
}
