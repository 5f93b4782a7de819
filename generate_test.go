package bitnet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/org/bitnet/internal/demo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func demoModel(t testing.TB, opts ...LoadOption) *Model {
	t.Helper()
	m, err := LoadGGUF(demo.GGUF, append([]LoadOption{WithThreads(2)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

const demoPrompt = "func (s *Server) Close() error {\n"

func TestGreedyIsArgmaxChain(t *testing.T) {
	m := demoModel(t)
	ctx := context.Background()
	res, err := m.Generate(ctx, demoPrompt, &GenerateOptions{MaxTokens: 24})
	require.NoError(t, err)
	require.Len(t, res.Tokens, 24)
	require.Equal(t, StopMaxTokens, res.StopReason)

	s, err := m.NewSession()
	require.NoError(t, err)
	ids, err := m.encodePrompt(demoPrompt)
	require.NoError(t, err)
	require.Equal(t, len(ids), res.PromptTokens)
	require.NoError(t, s.Eval(ctx, ids))
	var chain []int
	for range 24 {
		next := argmax(s.Logits())
		chain = append(chain, next)
		require.NoError(t, s.Eval(ctx, []int{next}))
	}
	require.Equal(t, chain, res.Tokens)
	require.Equal(t, m.Tokenizer().Decode(chain), res.Text)

	// Top-k 1 is greedy whatever the temperature.
	res1, err := m.Generate(ctx, demoPrompt, &GenerateOptions{MaxTokens: 24, Temperature: 1.5, TopK: 1, Seed: 9})
	require.NoError(t, err)
	require.Equal(t, res.Tokens, res1.Tokens)
}

func TestSeedReproducible(t *testing.T) {
	m := demoModel(t)
	ctx := context.Background()
	opts := DefaultGenerateOptions()
	opts.MaxTokens, opts.Seed = 40, 1234
	a, err := m.Generate(ctx, demoPrompt, &opts)
	require.NoError(t, err)
	b, err := m.Generate(ctx, demoPrompt, &opts)
	require.NoError(t, err)
	require.Equal(t, a.Tokens, b.Tokens)
	opts.Seed = 4321
	c, err := m.Generate(ctx, demoPrompt, &opts)
	require.NoError(t, err)
	require.NotEqual(t, a.Tokens, c.Tokens, "another seed gives another sample")
}

func TestStreamTextEqualsResult(t *testing.T) {
	m := demoModel(t)
	ctx := context.Background()
	for seed := uint64(1); seed <= 4; seed++ {
		opts := &GenerateOptions{MaxTokens: 50, Temperature: 1, Seed: seed}
		var text strings.Builder
		var ids []int
		for tok, err := range m.Tokens(ctx, demoPrompt, opts) {
			require.NoError(t, err)
			text.WriteString(tok.Text)
			ids = append(ids, tok.ID)
		}
		res, err := m.Generate(ctx, demoPrompt, opts)
		require.NoError(t, err)
		require.Equal(t, res.Text, text.String())
		require.Equal(t, res.Tokens, ids)
		require.Equal(t, m.Tokenizer().Decode(res.Tokens), res.Text)
	}
}

func TestStopStrings(t *testing.T) {
	m := demoModel(t)
	ctx := context.Background()
	full, err := m.Generate(ctx, demoPrompt, &GenerateOptions{MaxTokens: 40})
	require.NoError(t, err)
	require.Greater(t, len(full.Text), 10)
	// Stop strings taken from the greedy text itself: inside one token,
	// across tokens, and one that never occurs.
	for _, stop := range []string{full.Text[3:7], full.Text[len(full.Text)/2 : len(full.Text)/2+5], "\n\t", "zzzz-never"} {
		t.Run(stop, func(t *testing.T) {
			var streamed strings.Builder
			for tok, err := range m.Tokens(ctx, demoPrompt, &GenerateOptions{MaxTokens: 40, Stop: []string{"zzzz-never", stop}}) {
				require.NoError(t, err)
				streamed.WriteString(tok.Text)
				require.NotContains(t, streamed.String(), stop)
			}
			res, err := m.Generate(ctx, demoPrompt, &GenerateOptions{MaxTokens: 40, Stop: []string{"zzzz-never", stop}})
			require.NoError(t, err)
			require.Equal(t, streamed.String(), res.Text)
			if i := strings.Index(full.Text, stop); i >= 0 {
				require.Equal(t, StopString, res.StopReason)
				require.Equal(t, full.Text[:i], res.Text, "the longest prefix before the stop string")
			} else {
				require.Equal(t, StopMaxTokens, res.StopReason)
				require.Equal(t, full.Text, res.Text)
			}
		})
	}
}

func TestBreakFreesSession(t *testing.T) {
	m := demoModel(t)
	n := 0
	for _, err := range m.Tokens(context.Background(), demoPrompt, nil) {
		require.NoError(t, err)
		n++
		if n == 3 {
			break
		}
	}
	require.Equal(t, 3, n)
	require.Zero(t, m.sessions.Load(), "breaking out closes the session")
	_, err := m.Generate(context.Background(), demoPrompt, &GenerateOptions{MaxTokens: 2})
	require.NoError(t, err)
	require.Zero(t, m.sessions.Load())
}

func TestCancelledGeneration(t *testing.T) {
	m := demoModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for _, err := range m.Tokens(ctx, demoPrompt, &GenerateOptions{MaxTokens: 100}) {
		if err != nil {
			last = err
			continue
		}
		n++
		if n == 5 {
			cancel()
		}
	}
	require.Error(t, last)
	require.True(t, errors.Is(last, context.Canceled))
	require.Equal(t, 5, n)
	_, err := m.Generate(ctx, demoPrompt, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, m.sessions.Load())
}

func TestContextFullStops(t *testing.T) {
	m := demoModel(t, WithContextSize(20))
	ids, err := m.encodePrompt(demoPrompt)
	require.NoError(t, err)
	res, err := m.Generate(context.Background(), demoPrompt, &GenerateOptions{})
	require.NoError(t, err)
	if res.StopReason != StopEOS {
		require.Equal(t, StopContextFull, res.StopReason)
		require.Len(t, res.Tokens, 20-len(ids)+1, "the last sampled token fills the context")
	}
	// A prompt longer than the context is an error.
	_, err = m.Generate(context.Background(), strings.Repeat("func x() {}\n", 20), nil)
	require.ErrorIs(t, err, ErrContextFull)
}

func TestGenerateAfterClose(t *testing.T) {
	m, err := LoadGGUF(demo.GGUF)
	require.NoError(t, err)
	require.NoError(t, m.Close())
	_, err = m.Generate(context.Background(), "x", nil)
	require.ErrorIs(t, err, ErrClosed)
	for _, err := range m.Tokens(context.Background(), "x", nil) {
		require.ErrorIs(t, err, ErrClosed)
	}
	_, err = m.Chat(context.Background(), []Message{{Role: "user", Content: "x"}}, nil)
	require.ErrorIs(t, err, ErrClosed)
}

func TestConcurrentGenerate(t *testing.T) {
	m := demoModel(t)
	want, err := m.Generate(context.Background(), demoPrompt, &GenerateOptions{MaxTokens: 16})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Generate(context.Background(), demoPrompt, &GenerateOptions{MaxTokens: 16})
			if assert.NoError(t, err) {
				assert.Equal(t, want.Tokens, got.Tokens)
			}
		}()
	}
	wg.Wait()
}

// TestChatSession: a session that holds a conversation and evaluates only
// each new turn gives the tokens of the whole conversation evaluated from
// scratch, and the same next reply.
func TestChatSession(t *testing.T) {
	m := demoModel(t)
	ctx := context.Background()
	opts := &GenerateOptions{MaxTokens: 8}
	turn1 := []Message{{Role: "system", Content: "Write Go."}, {Role: "user", Content: "A loop"}}
	turn2 := []Message{{Role: "user", Content: "Another one"}}

	s, err := m.NewSession()
	require.NoError(t, err)
	r1, err := s.Chat(ctx, turn1, opts)
	require.NoError(t, err)
	afterFirst := s.Len()
	r2, err := s.Chat(ctx, turn2, opts)
	require.NoError(t, err)

	// The session's tokens: BOS + the first prompt, the first reply, then
	// only the second turn.
	tok := m.Tokenizer()
	p1, err := formatChat(turn1)
	require.NoError(t, err)
	t2, err := formatChatTurn(turn2)
	require.NoError(t, err)
	want := append([]int{tok.BOS()}, tok.Encode(p1)...)
	want = append(want, r1.Tokens...)
	// (A sampled <|eot_id|> ending reply 1 is not evaluated: the turn text
	// starts with it.)
	want = append(want, tok.Encode(t2)...)
	held := s.TokenIDs()
	require.Equal(t, want, held[:len(want)])
	require.LessOrEqual(t, afterFirst, len(want)-len(tok.Encode(t2)), "the second turn only added its own tokens")

	// From scratch: the whole conversation's ids in one fresh session give
	// the same second reply.
	fresh, err := m.NewSession()
	require.NoError(t, err)
	r2b, err := fresh.GenerateIDs(ctx, want, opts)
	require.NoError(t, err)
	require.Equal(t, r2.Tokens, r2b.Tokens)

	// In text, the conversation is exactly formatChat of all messages.
	all := append(append(append([]Message{}, turn1...), Message{Role: "assistant", Content: r1.Text}), turn2...)
	full, err := formatChat(all)
	require.NoError(t, err)
	require.Equal(t, full, p1+strings.TrimSpace(r1.Text)+t2)
}
