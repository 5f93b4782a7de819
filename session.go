package bitnet

import (
	"context"
	"fmt"
)

// Session is one token sequence and its KV cache. A Session is not safe for
// concurrent use; use one per goroutine (they share the Model's weights and
// workers).
type Session struct {
	m      *Model
	cache  *kvCache
	rs     *runState
	logits []float32 // after the last evaluated token; nil when unknown
	tokens []int     // the sequence held in the cache
	// pending is the last token a generation sampled but did not evaluate
	// (it reached MaxTokens or filled the context), or -1. The next Eval or
	// generation evaluates it first.
	pending int
	closed  bool
}

// NewSession starts an empty sequence with a KV cache of the model's
// context size.
func (m *Model) NewSession() (*Session, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	c := &m.cfg
	rs := newRunState(c, m.batch, m.ctxSize, m.pool.Threads(), m.w.output.q8 != nil)
	rs.logits = make([]float32, c.vocab)
	m.sessions.Add(1)
	return &Session{m: m, cache: newKVCache(c.layers, m.ctxSize, c.kvHeads, c.headDim), rs: rs, pending: -1}, nil
}

// Eval appends ids to the sequence and runs them through the model; the
// prompt goes through in batches that read each weight matrix once. When
// the ids do not fit in the context it returns ErrContextFull and changes
// nothing. When ctx is cancelled it stops within a layer and returns
// ctx.Err(); the session is then as it was before the call. If a
// generation left its last sampled token unevaluated (it stopped on
// MaxTokens), that token goes first.
func (s *Session) Eval(ctx context.Context, ids []int) error {
	_, err := s.eval(ctx, s.withPending(ids), false)
	if err == nil {
		s.pending = -1
	}
	return err
}

// withPending returns ids preceded by the pending token, if any.
func (s *Session) withPending(ids []int) []int {
	if s.pending < 0 {
		return ids
	}
	return append([]int{s.pending}, ids...)
}

// eval is Eval; with all set it returns the logits after every token of
// ids, [len(ids)][vocab], in a fresh slice.
func (s *Session) eval(ctx context.Context, ids []int, all bool) ([][]float32, error) {
	if s.closed {
		return nil, ErrClosed
	}
	m := s.m
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	vocab := m.cfg.vocab
	for _, id := range ids {
		if id < 0 || id >= vocab {
			return nil, fmt.Errorf("bitnet: token id %d is out of range [0, %d)", id, vocab)
		}
	}
	if len(ids) > s.cache.room() {
		return nil, fmt.Errorf("%w: %d tokens held, %d more do not fit in a context of %d", ErrContextFull, s.cache.n, len(ids), s.cache.ctx)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := s.cache.n
	var out [][]float32
	if all && cap(s.rs.logits) < s.rs.maxBatch*vocab {
		s.rs.logits = make([]float32, s.rs.maxBatch*vocab)
	}
	var last []float32
	for i := 0; i < len(ids); i += s.rs.maxBatch {
		batch := ids[i:min(i+s.rs.maxBatch, len(ids))]
		logits, err := m.forward(ctx, s.rs, s.cache, batch, all)
		if err != nil {
			s.cache.truncate(start)
			return nil, err
		}
		if all {
			for t := range batch {
				out = append(out, append([]float32(nil), logits[t*vocab:(t+1)*vocab]...))
			}
		}
		last = logits[len(logits)-vocab:]
	}
	s.logits = append(s.logits[:0], last...)
	s.tokens = append(s.tokens, ids...)
	return out, nil
}

// Logits returns the logits (one per vocabulary entry) after the last
// evaluated token, or nil before the first Eval and after a Truncate. The
// slice is the session's own: it changes with the next Eval.
func (s *Session) Logits() []float32 {
	if len(s.logits) == 0 {
		return nil
	}
	return s.logits
}

// Len returns the number of tokens in the sequence (and the KV cache).
func (s *Session) Len() int {
	if s.closed {
		return 0
	}
	return s.cache.n
}

// TokenIDs returns a copy of the token ids the session holds.
func (s *Session) TokenIDs() []int { return append([]int(nil), s.tokens...) }

// Truncate keeps the first n tokens of the sequence, so that the next Eval
// continues from there. Logits returns nil until that Eval.
func (s *Session) Truncate(n int) error {
	if s.closed {
		return ErrClosed
	}
	if n < 0 || n > s.cache.n {
		return fmt.Errorf("bitnet: Truncate(%d): the session holds %d tokens", n, s.cache.n)
	}
	s.pending = -1
	if n != s.cache.n {
		s.cache.truncate(n)
		s.tokens = s.tokens[:n]
		s.logits = s.logits[:0]
	}
	return nil
}

// Close releases the session's memory. Later calls return ErrClosed.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.m.sessions.Add(-1)
	s.cache, s.rs, s.logits, s.tokens = nil, nil, nil, nil
	return nil
}
