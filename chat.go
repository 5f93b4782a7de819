package bitnet

import (
	"fmt"
	"strings"
)

// The chat format of bitnet-b1.58-2B-4T (FORMATS.md decision 9, the template
// in its tokenizer_config.json): for each message
//
//	Role: content<|eot_id|>
//
// with Role the role capitalized (System, User, Assistant) and content
// trimmed of surrounding white space, then the generation prompt
// "Assistant: ". For example (as a Go string)
//
//	"System: You are helpful.<|eot_id|>User: Hi<|eot_id|>Assistant: Hello!<|eot_id|>User: Bye<|eot_id|>Assistant: "
//
// The text holds no BOS: tokenizing the prompt adds exactly one. The
// tokenizer parses "<|eot_id|>" in the text as the special token 128009.
const (
	// chatEndOfTurn ends every message.
	chatEndOfTurn = "<|eot_id|>"
	// chatGenerationPrompt starts the assistant's reply.
	chatGenerationPrompt = "Assistant: "
)

// formatChat renders a whole conversation as the prompt for the assistant's
// next reply, in the format above. An unknown role is an error. No messages
// give just the generation prompt.
func formatChat(msgs []Message) (string, error) {
	var b strings.Builder
	if err := writeMessages(&b, msgs); err != nil {
		return "", err
	}
	b.WriteString(chatGenerationPrompt)
	return b.String(), nil
}

// formatChatTurn renders the text a chat session appends after the
// assistant's reply to go on with the new messages msgs: "<|eot_id|>" to
// close the reply, then msgs in the format above, then the generation
// prompt. With reply_i the text of the i-th reply and turn_i the messages
// added after it,
//
//	formatChat(first + reply_1 + turn_1 + reply_2 + turn_2 ...)
//	  == formatChat(first) + trim(reply_1) + formatChatTurn(turn_1)
//	     + trim(reply_2) + formatChatTurn(turn_2) ...
//
// where reply_i stands for Message{"assistant", reply_i} in the conversation
// and trim is strings.TrimSpace.
//
// What a session must append after a reply, so that its tokens are those of
// the whole conversation:
//
//   - The reply is closed by exactly one <|eot_id|> token. Generation usually
//     ends when the model samples it, and a sampled token is not evaluated,
//     so it is not in the KV cache: evaluate the tokens of formatChatTurn as
//     they are. If the session did evaluate that <|eot_id|> (or the reply
//     ended otherwise and the session appended it), drop the leading
//     chatEndOfTurn from the text (or its token, 128009, from the ids). A
//     reply cut short by MaxTokens or a stop string is closed the same way;
//     with a stop string, first truncate the cache to the tokens before the
//     stop text if it must not stay in the history.
//   - Encode the turn with Tokenizer.Encode (special tokens parsed) and no
//     BOS: the BOS belongs to the start of the conversation only.
//   - The tokenizer splits text at special tokens, so every piece after the
//     closing <|eot_id|> tokenizes exactly as in an encoding of the whole
//     conversation from scratch. The reply itself need not: the model
//     produced its tokens after the prompt's "Assistant: " (whose trailing
//     space is a token of its own), while a fresh encoding of
//     "Assistant: Hello" merges the space into " Hello"; and white space the
//     model put around the reply stays in the cache but is trimmed by
//     formatChat. Keep the generated tokens: they are what the model saw,
//     and the text differs at most in that white space.
func formatChatTurn(msgs []Message) (string, error) {
	var b strings.Builder
	b.WriteString(chatEndOfTurn)
	if err := writeMessages(&b, msgs); err != nil {
		return "", err
	}
	b.WriteString(chatGenerationPrompt)
	return b.String(), nil
}

// writeMessages writes each message as "Role: content<|eot_id|>".
func writeMessages(b *strings.Builder, msgs []Message) error {
	for i, m := range msgs {
		role, err := chatRole(m.Role)
		if err != nil {
			return fmt.Errorf("%w (message %d)", err, i)
		}
		b.WriteString(role)
		b.WriteString(": ")
		b.WriteString(strings.TrimSpace(m.Content))
		b.WriteString(chatEndOfTurn)
	}
	return nil
}

// chatRole returns the capitalized name of a message role.
func chatRole(role string) (string, error) {
	switch strings.ToLower(role) {
	case "system":
		return "System", nil
	case "user":
		return "User", nil
	case "assistant":
		return "Assistant", nil
	}
	return "", fmt.Errorf("bitnet: unknown chat role %q: want system, user or assistant", role)
}
