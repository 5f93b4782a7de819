package convert

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors from this package wrap one of them (through
// *Error) when the input is at fault; I/O errors are returned as they come.
var (
	// ErrInvalid is wrapped by errors about malformed or inconsistent
	// input: a broken safetensors or GGUF file, a config.json without the
	// fields the model needs, tensors that are missing or whose shapes
	// disagree with the config.
	ErrInvalid = errors.New("bitnet: invalid model")
	// ErrUnsupported is wrapped by errors about valid input this package
	// cannot read or write: an architecture, a tensor type, a shape the
	// target format cannot hold.
	ErrUnsupported = errors.New("bitnet: unsupported")
)

// Error is an error about the input model. Kind is ErrInvalid or
// ErrUnsupported; Msg names the file, tensor or key and what was wrong; Err
// is the underlying error, if any (a safetensors, GGUF or file system
// error).
type Error struct {
	Kind error
	Msg  string
	Err  error
}

// Error returns the kind, the message and the cause, separated by ": ".
func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Kind and Err, so that errors.Is finds both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func invalid(format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &Error{Kind: ErrUnsupported, Msg: fmt.Sprintf(format, args...)}
}

// wrap attaches err as the cause of a new Error of the given kind.
func wrap(kind, err error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}
