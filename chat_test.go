package bitnet

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatChat(t *testing.T) {
	tests := []struct {
		name string
		msgs []Message
		want string
	}{
		{
			"system, user, assistant, user",
			[]Message{
				{"system", "You are helpful."},
				{"user", "Hi"},
				{"assistant", "Hello!"},
				{"user", "Bye"},
			},
			"System: You are helpful.<|eot_id|>User: Hi<|eot_id|>Assistant: Hello!<|eot_id|>User: Bye<|eot_id|>Assistant: ",
		},
		{
			"the reference example (HF-T docstring, less the BOS)",
			[]Message{{"user", "Hey, are you conscious? Can you talk to me?"}},
			"User: Hey, are you conscious? Can you talk to me?<|eot_id|>Assistant: ",
		},
		{
			"content trimmed, inner white space kept",
			[]Message{{"system", " \n\tBe brief.\n"}, {"user", "  two\n\nlines  "}},
			"System: Be brief.<|eot_id|>User: two\n\nlines<|eot_id|>Assistant: ",
		},
		{
			"roles in any case",
			[]Message{{"SYSTEM", "s"}, {"User", "u"}, {"assistant", "a"}},
			"System: s<|eot_id|>User: u<|eot_id|>Assistant: a<|eot_id|>Assistant: ",
		},
		{"empty content", []Message{{"user", "   "}}, "User: <|eot_id|>Assistant: "},
		{"no messages", nil, "Assistant: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := formatChat(tt.msgs)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "<|begin_of_text|>")
		})
	}
}

func TestFormatChatUnknownRole(t *testing.T) {
	for _, role := range []string{"", "tool", "human", "system "} {
		msgs := []Message{{"user", "hi"}, {role, "x"}}
		_, err := formatChat(msgs)
		require.Error(t, err, "role %q", role)
		assert.True(t, strings.HasPrefix(err.Error(), "bitnet: "), err.Error())
		assert.Contains(t, err.Error(), "message 1")
		_, err = formatChatTurn(msgs)
		require.Error(t, err, "role %q", role)
		assert.True(t, strings.HasPrefix(err.Error(), "bitnet: "), err.Error())
	}
}

func TestFormatChatTurn(t *testing.T) {
	got, err := formatChatTurn([]Message{{"user", " Bye "}})
	require.NoError(t, err)
	assert.Equal(t, "<|eot_id|>User: Bye<|eot_id|>Assistant: ", got)

	// A conversation rendered whole equals the first prompt, then for each
	// turn the (trimmed) reply and formatChatTurn of the messages after it.
	first := []Message{{"system", "You are helpful."}, {"user", "Hi"}}
	replies := []string{" Hello! \n", "Sure."}
	turns := [][]Message{
		{{"user", "Bye"}},
		{{"system", "Be brief."}, {"user", "Again?"}},
	}
	all := append([]Message(nil), first...)
	session, err := formatChat(first)
	require.NoError(t, err)
	for i, reply := range replies {
		all = append(all, Message{"assistant", reply})
		all = append(all, turns[i]...)
		turn, err := formatChatTurn(turns[i])
		require.NoError(t, err)
		session += strings.TrimSpace(reply) + turn

		whole, err := formatChat(all)
		require.NoError(t, err)
		assert.Equal(t, whole, session, "after turn %d", i)
	}
}
