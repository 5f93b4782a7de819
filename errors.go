package bitnet

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these where it
// applies, so callers can test with errors.Is.
var (
	// ErrClosed is returned when a Model or Session is used after Close.
	ErrClosed = errors.New("bitnet: closed")
	// ErrInvalidModel is wrapped by errors about malformed or truncated files;
	// the wrapping error names the file, key or tensor and what was wrong.
	ErrInvalidModel = errors.New("bitnet: invalid model")
	// ErrUnsupported is wrapped by errors about valid files this library
	// cannot run (an architecture, a tensor type, a tokenizer split).
	ErrUnsupported = errors.New("bitnet: unsupported")
	// ErrContextFull is returned by Eval when the tokens would not fit in the
	// session's context. The session is left as it was and stays usable.
	ErrContextFull = errors.New("bitnet: context full")
)
