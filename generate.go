package bitnet

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// Generate encodes prompt (with BOS first when the model asks for it;
// special-token text such as "<|eot_id|>" becomes the special token) and
// continues it until an end-of-generation token, opts.MaxTokens, a stop
// string or a full context. A nil opts means DefaultGenerateOptions(). It is
// safe for concurrent use: each call has its own Session.
func (m *Model) Generate(ctx context.Context, prompt string, opts *GenerateOptions) (*Result, error) {
	return m.runSession(ctx, opts, func() ([]int, error) { return m.encodePrompt(prompt) }, keepGoing)
}

// Tokens is Generate as a stream of tokens:
//
//	for tok, err := range m.Tokens(ctx, prompt, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Print(tok.Text)
//	}
//
// On an error it yields (Token{}, err) once and stops; when ctx is cancelled
// that err is ctx.Err(). Breaking out of the loop stops generation and frees
// its state. Concatenating the Text of every token gives Generate's
// Result.Text; when generation ends on an end-of-generation token while text
// is still held back (a possible start of a stop string, or an incomplete
// UTF-8 character), a last Token with that token's ID carries it.
func (m *Model) Tokens(ctx context.Context, prompt string, opts *GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		m.stream(ctx, opts, func() ([]int, error) { return m.encodePrompt(prompt) }, yield)
	}
}

// Chat applies the model's chat format (FORMATS.md decision 9) to msgs and
// generates the assistant's reply.
func (m *Model) Chat(ctx context.Context, msgs []Message, opts *GenerateOptions) (*Result, error) {
	return m.runSession(ctx, opts, m.chatPrompt(msgs), keepGoing)
}

// ChatTokens is Chat as a stream of tokens, as Tokens.
func (m *Model) ChatTokens(ctx context.Context, msgs []Message, opts *GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		m.stream(ctx, opts, m.chatPrompt(msgs), yield)
	}
}

// Tokens continues the session's sequence: the first token is sampled from
// Logits. Generated tokens are evaluated into the session (except the last
// one sampled: an end-of-generation token, or the token that filled the
// context or reached MaxTokens), so a later Eval or Tokens goes on from
// there. The stream behaves as Model.Tokens.
func (s *Session) Tokens(ctx context.Context, opts *GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		if _, err := s.generate(ctx, nil, opts, func(t Token) bool { return yield(t, nil) }); err != nil {
			yield(Token{}, err)
		}
	}
}

// Generate is Session.Tokens collected into a Result.
func (s *Session) Generate(ctx context.Context, opts *GenerateOptions) (*Result, error) {
	return s.generate(ctx, nil, opts, keepGoing)
}

// GenerateIDs evaluates ids (a prompt already tokenized) after what the
// session holds and generates from there, as Session.Generate.
func (s *Session) GenerateIDs(ctx context.Context, ids []int, opts *GenerateOptions) (*Result, error) {
	return s.generate(ctx, ids, opts, keepGoing)
}

func keepGoing(Token) bool { return true }

// Chat adds msgs to the conversation the session holds, in the model's chat
// format, and generates the assistant's reply. On an empty session msgs
// start the conversation (with BOS); afterwards only the new messages are
// evaluated: the previous reply is closed with <|eot_id|>, then msgs and
// "Assistant: " follow. Keep one Session for a whole conversation.
func (s *Session) Chat(ctx context.Context, msgs []Message, opts *GenerateOptions) (*Result, error) {
	ids, err := s.chatTurn(msgs)
	if err != nil {
		return nil, err
	}
	return s.generate(ctx, ids, opts, keepGoing)
}

// ChatTokens is Session.Chat as a stream of tokens, as Model.Tokens.
func (s *Session) ChatTokens(ctx context.Context, msgs []Message, opts *GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		ids, err := s.chatTurn(msgs)
		if err == nil {
			_, err = s.generate(ctx, ids, opts, func(t Token) bool { return yield(t, nil) })
		}
		if err != nil {
			yield(Token{}, err)
		}
	}
}

// chatTurn returns the ids that add msgs to the session's conversation.
func (s *Session) chatTurn(msgs []Message) ([]int, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if s.Len() == 0 && s.pending < 0 {
		return s.m.chatPrompt(msgs)()
	}
	text, err := formatChatTurn(msgs)
	if err != nil {
		return nil, err
	}
	return s.m.tok.Encode(text), nil
}

func (m *Model) chatPrompt(msgs []Message) func() ([]int, error) {
	return func() ([]int, error) {
		text, err := formatChat(msgs)
		if err != nil {
			return nil, err
		}
		return m.encodePrompt(text)
	}
}

func (m *Model) encodePrompt(prompt string) ([]int, error) {
	ids := m.tok.Encode(prompt)
	if m.tok.AddBOS() && m.tok.BOS() >= 0 {
		ids = append([]int{m.tok.BOS()}, ids...)
	}
	if len(ids) == 0 {
		return nil, errors.New("bitnet: empty prompt")
	}
	return ids, nil
}

// runSession runs one generation in a fresh session that is closed when
// it ends.
func (m *Model) runSession(ctx context.Context, opts *GenerateOptions, prompt func() ([]int, error), yield func(Token) bool) (*Result, error) {
	ids, err := prompt()
	if err != nil {
		return nil, err
	}
	s, err := m.NewSession()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.generate(ctx, ids, opts, yield)
}

// stream is runSession as an iterator body.
func (m *Model) stream(ctx context.Context, opts *GenerateOptions, prompt func() ([]int, error), yield func(Token, error) bool) {
	if _, err := m.runSession(ctx, opts, prompt, func(t Token) bool { return yield(t, nil) }); err != nil {
		yield(Token{}, err)
	}
}

// generate evaluates prompt (may be empty: continue from Logits), then
// samples tokens, calling yield for each, until generation ends. It returns
// the Result; yield returning false ends generation early (the Result is
// then partial).
func (s *Session) generate(ctx context.Context, prompt []int, opts *GenerateOptions, yield func(Token) bool) (*Result, error) {
	if s.closed {
		return nil, ErrClosed
	}
	o := DefaultGenerateOptions()
	if opts != nil {
		o = *opts
	}
	tok := s.m.tok
	res := &Result{PromptTokens: len(prompt)}
	start := time.Now()
	prompt = s.withPending(prompt)
	if len(prompt) > 0 {
		if len(prompt) > s.cache.room() {
			return nil, fmt.Errorf("%w: the prompt has %d tokens and the session has room for %d", ErrContextFull, len(prompt), s.cache.room())
		}
		if _, err := s.eval(ctx, prompt, false); err != nil {
			return nil, err
		}
		s.pending = -1
	}
	res.PrefillDuration = time.Since(start)
	if s.Logits() == nil {
		return nil, errors.New("bitnet: nothing to continue: the session has no logits (Eval a prompt first)")
	}

	smp := newSampler(&o)
	dec := tok.newStreamDecoder()
	stop := newStopMatcher(o.Stop)
	var text []byte
	emit := func(t Token) bool {
		text = append(text, t.Text...)
		return yield(t)
	}
	start = time.Now()
	defer func() {
		res.Text = string(text)
		res.DecodeDuration = time.Since(start)
		if d := res.PrefillDuration.Seconds(); d > 0 {
			res.PrefillTokensPerSecond = float64(res.PromptTokens) / d
		}
		if d := res.DecodeDuration.Seconds(); d > 0 {
			res.DecodeTokensPerSecond = float64(len(res.Tokens)) / d
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := smp.sample(s.Logits(), s.tokens)
		if tok.IsEndOfGeneration(id) {
			res.StopReason = StopEOS
			if rest := finish(dec, stop); rest != "" {
				emit(Token{ID: id, Text: rest})
			}
			return res, nil
		}
		res.Tokens = append(res.Tokens, id)
		last := false
		switch {
		case o.MaxTokens > 0 && len(res.Tokens) >= o.MaxTokens:
			res.StopReason, last = StopMaxTokens, true
		case s.cache.room() == 0:
			res.StopReason, last = StopContextFull, true
		}
		out, stopped := stop.Push(dec.Add(id))
		if stopped {
			res.StopReason = StopString
			emit(Token{ID: id, Text: out})
			return res, nil
		}
		if last {
			out += finish(dec, stop)
			if stop.Stopped() {
				res.StopReason = StopString
			}
		}
		if last {
			s.pending = id
		}
		if !emit(Token{ID: id, Text: out}) || last {
			return res, nil
		}
		if _, err := s.eval(ctx, []int{id}, false); err != nil {
			return nil, err
		}
	}
}

// finish flushes the decoder and the stop matcher at the end of a stream.
func finish(dec *streamDecoder, stop *stopMatcher) string {
	out, stopped := stop.Push(dec.Flush())
	if stopped {
		return out
	}
	return out + stop.Flush()
}
