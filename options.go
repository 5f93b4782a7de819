package bitnet

import (
	"strconv"
	"time"
)

// GenerateOptions controls how tokens are chosen and when generation ends.
//
// The generation methods take a *GenerateOptions: nil means
// DefaultGenerateOptions(), and a non-nil value is used exactly as given, so
// a zero GenerateOptions{} means greedy decoding (Temperature 0) with every
// filter and penalty off. Start from DefaultGenerateOptions() to change one
// setting and keep the others.
//
// Sampling follows llama.cpp, the engine bitnet.cpp runs: the penalties
// first, then top-k, top-p, min-p and the temperature, then a random draw.
// Values outside a setting's range turn that setting off (see each field);
// they are never an error.
type GenerateOptions struct {
	// MaxTokens is the most tokens to generate. 0 (or less): no limit other
	// than the end of generation or a full context.
	MaxTokens int

	// Temperature divides the logits before the draw; below 1 it sharpens the
	// distribution, above 1 it flattens it. 0 (or less, or NaN): greedy, the
	// token with the highest logit after the penalties (the lowest id on a
	// tie); the filters below then do not matter.
	Temperature float32

	// TopK keeps only the TopK most likely tokens. 0 (or less): off.
	TopK int

	// TopP keeps the smallest set of the most likely tokens whose
	// probabilities sum to at least TopP (nucleus sampling). 0, 1 or a value
	// outside (0, 1): off.
	TopP float32

	// MinP drops tokens whose probability is below MinP times that of the
	// most likely token. 0 (or less): off.
	MinP float32

	// RepeatPenalty penalizes the tokens that occur in the last RepeatLastN
	// tokens: a positive logit is divided by it, a negative one multiplied.
	// 0, 1 or less than 0: off.
	RepeatPenalty float32

	// RepeatLastN is how many of the most recent tokens (the prompt's
	// included) the three penalties look at. 0: 64; less than 0: all of them.
	RepeatLastN int

	// PresencePenalty is subtracted from the logit of every token that occurs
	// in the window at least once. 0: off.
	PresencePenalty float32

	// FrequencyPenalty times the number of times a token occurs in the window
	// is subtracted from its logit. 0: off.
	FrequencyPenalty float32

	// Seed seeds the random draws. The same non-zero Seed with the same model,
	// input and options gives the same tokens. 0: a random seed for each call.
	Seed uint64

	// Stop ends generation before the first of these strings that appears in
	// the generated text; neither it nor anything after it is returned, and
	// the result's StopReason is StopString. Empty strings are ignored.
	Stop []string
}

// DefaultGenerateOptions returns the options a nil *GenerateOptions stands
// for: the sampling settings bitnet.cpp users get (llama.cpp's defaults with
// bitnet.cpp's temperature): temperature 0.8, top-k 40, top-p 0.95,
// min-p 0.05, the repeat penalty off with a window of 64 tokens, no token
// limit, a random seed and no stop strings.
func DefaultGenerateOptions() GenerateOptions {
	return GenerateOptions{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		RepeatLastN:   64,
	}
}

// Token is one generated token.
type Token struct {
	// ID is the token's id in the model's vocabulary.
	ID int
	// Text is the text this token completes: "" while a UTF-8 character is
	// still partial, and "" while the text could be the start of a stop
	// string (it comes with a later token, or never when the stop string
	// completes). Concatenating Text over a whole stream gives exactly
	// Result.Text.
	Text string
}

// Result is the outcome of a whole generation.
type Result struct {
	// Text is the generated text, without the prompt and without a stop
	// string or an end-of-generation token.
	Text string
	// Tokens are the generated token ids, without the prompt. The
	// end-of-generation token that ended a generation is not included.
	Tokens []int
	// StopReason says why generation ended.
	StopReason StopReason
	// PromptTokens is the number of prompt tokens (BOS included).
	PromptTokens int

	// PrefillDuration is the time spent evaluating the prompt.
	PrefillDuration time.Duration
	// DecodeDuration is the time spent generating tokens after the prompt.
	DecodeDuration time.Duration
	// PrefillTokensPerSecond is PromptTokens divided by PrefillDuration.
	PrefillTokensPerSecond float64
	// DecodeTokensPerSecond is the number of generated tokens divided by
	// DecodeDuration.
	DecodeTokensPerSecond float64
}

// StopReason says why generation ended.
type StopReason int

// The reasons generation ends.
const (
	// StopEOS: the model produced an end-of-generation token
	// (<|eot_id|>, <|end_of_text|>, ...).
	StopEOS StopReason = iota
	// StopMaxTokens: GenerateOptions.MaxTokens tokens were generated.
	StopMaxTokens
	// StopString: the text reached one of GenerateOptions.Stop.
	StopString
	// StopContextFull: the session's context (its KV cache) is full.
	StopContextFull
)

// String returns a short lower-case name for r, such as "eos" or
// "max tokens".
func (r StopReason) String() string {
	switch r {
	case StopEOS:
		return "eos"
	case StopMaxTokens:
		return "max tokens"
	case StopString:
		return "stop string"
	case StopContextFull:
		return "context full"
	}
	return "StopReason(" + strconv.Itoa(int(r)) + ")"
}

// Message is one message of a chat.
type Message struct {
	// Role is "system", "user" or "assistant" (any letter case).
	Role string
	// Content is the message's text; white space around it is ignored.
	Content string
}
