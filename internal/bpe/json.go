package bpe

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Llama3Pattern is the Llama 3 pre-tokenizer split, as tokenizer.json and
// tiktoken spell it. The split in this package is a hand-written equivalent.
const Llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

type hfTokenizer struct {
	AddedTokens  []hfAddedToken  `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer *hfPreTokenizer `json:"pre_tokenizer"`
	Model        struct {
		Type                    string          `json:"type"`
		Vocab                   map[string]int  `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		IgnoreMerges            bool            `json:"ignore_merges"`
		ContinuingSubwordPrefix string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         string          `json:"end_of_word_suffix"`
	} `json:"model"`
}

type hfAddedToken struct {
	ID      *int   `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

type hfPreTokenizer struct {
	Type          string            `json:"type"`
	PreTokenizers []*hfPreTokenizer `json:"pretokenizers"`
	Pattern       struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	UseRegex       *bool  `json:"use_regex"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
}

// ParseJSON reads a Hugging Face tokenizer.json. It accepts byte-level BPE
// models with the Llama 3 split (the Llama 3 and BitNet b1.58 files); others
// give an error wrapping ErrUnsupported. Added tokens become control tokens
// when special and user-defined tokens otherwise.
func ParseJSON(data []byte) (Config, error) {
	var f hfTokenizer
	if err := json.Unmarshal(data, &f); err != nil {
		return Config{}, err
	}
	m := &f.Model
	if m.Type != "BPE" {
		return Config{}, fmt.Errorf("%w: model type %q, want BPE", ErrUnsupported, m.Type)
	}
	if m.ContinuingSubwordPrefix != "" || m.EndOfWordSuffix != "" {
		return Config{}, fmt.Errorf("%w: BPE with a subword prefix or suffix", ErrUnsupported)
	}
	if len(f.Normalizer) > 0 && string(f.Normalizer) != "null" {
		return Config{}, fmt.Errorf("%w: normalizer %s", ErrUnsupported, trim(f.Normalizer))
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return Config{}, err
	}

	n := 0
	for _, id := range m.Vocab {
		if id < 0 {
			return Config{}, fmt.Errorf("model.vocab: negative id %d", id)
		}
		n = max(n, id+1)
	}
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 {
			return Config{}, fmt.Errorf("added_tokens[%d]: missing or negative id", i)
		}
		n = max(n, *a.ID+1)
	}
	if n > 2*(len(m.Vocab)+len(f.AddedTokens))+1024 {
		return Config{}, fmt.Errorf("model.vocab: id %d is far beyond the %d tokens", n-1, len(m.Vocab)+len(f.AddedTokens))
	}
	cfg := Config{
		Tokens:       make([]string, n),
		Types:        make([]TokenType, n),
		IgnoreMerges: m.IgnoreMerges,
	}
	for i := range cfg.Types {
		cfg.Types[i] = TypeUnused
	}
	for s, id := range m.Vocab {
		if cfg.Types[id] != TypeUnused {
			return Config{}, fmt.Errorf("model.vocab: id %d given to %q and %q", id, cfg.Tokens[id], s)
		}
		cfg.Tokens[id] = s
		cfg.Types[id] = TypeNormal
	}
	for _, a := range f.AddedTokens {
		cfg.Tokens[*a.ID] = a.Content
		cfg.Types[*a.ID] = TypeUserDefined
		if a.Special {
			cfg.Types[*a.ID] = TypeControl
		}
	}

	if len(m.Merges) > 0 && string(m.Merges) != "null" {
		if err := json.Unmarshal(m.Merges, &cfg.Merges); err != nil {
			cfg.Merges = nil
			if err := json.Unmarshal(m.Merges, &cfg.MergePairs); err != nil {
				return Config{}, errors.New("model.merges: neither \"a b\" strings nor [a, b] pairs")
			}
		}
	}
	return cfg, nil
}

// checkPreTokenizer accepts the Llama 3 split followed by a byte-level step
// that does no splitting of its own.
func checkPreTokenizer(p *hfPreTokenizer) error {
	if p == nil {
		return fmt.Errorf("%w: no pre-tokenizer (Llama 3 split wanted)", ErrUnsupported)
	}
	steps := []*hfPreTokenizer{p}
	if p.Type == "Sequence" {
		steps = p.PreTokenizers
	}
	split := false
	for _, s := range steps {
		switch {
		case s == nil:
			return fmt.Errorf("%w: empty pre-tokenizer step", ErrUnsupported)
		case s.Type == "Split" && !split && s.Pattern.Regex != nil && *s.Pattern.Regex == Llama3Pattern &&
			s.Behavior == "Isolated" && !s.Invert:
			split = true
		case s.Type == "ByteLevel" && split && s.UseRegex != nil && !*s.UseRegex && !s.AddPrefixSpace:
		default:
			what := s.Type
			if s.Pattern.Regex != nil {
				what += " " + *s.Pattern.Regex
			}
			return fmt.Errorf("%w: pre-tokenizer %s (Llama 3 split wanted)", ErrUnsupported, what)
		}
	}
	if !split {
		return fmt.Errorf("%w: pre-tokenizer without the Llama 3 split", ErrUnsupported)
	}
	return nil
}

func trim(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// TokenName is a token named in tokenizer_config.json: "text" or
// {"content": "text", ...}; other values leave it empty.
type TokenName string

// UnmarshalJSON accepts a string or an object with "content".
func (n *TokenName) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*n = TokenName(s)
		return nil
	}
	var o struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(data, &o) == nil {
		*n = TokenName(o.Content)
	}
	return nil
}
