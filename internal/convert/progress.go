package convert

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Bar reports the progress of a conversion. On a terminal it keeps one
// line up to date (a bar, percent, megabytes written and MB/s); otherwise
// it prints only a final line. Its Update method fits Options.Progress.
type Bar struct {
	w     io.Writer
	tty   bool
	label string
	start time.Time
	last  time.Time
	done  bool
	now   func() time.Time
}

// NewBar returns a Bar writing to w; tty says whether w is a terminal.
func NewBar(w io.Writer, tty bool, label string) *Bar {
	return &Bar{w: w, tty: tty, label: label, now: time.Now, start: time.Now()}
}

// Update reports written bytes of total. The line is redrawn at most ten
// times a second, and once more when written reaches total.
func (b *Bar) Update(written, total int64) {
	now := b.now()
	if b.done {
		return
	}
	final := written >= total
	if !final && (!b.tty || now.Sub(b.last) < 100*time.Millisecond) {
		return
	}
	b.last = now
	secs := now.Sub(b.start).Seconds()
	mb := float64(written) / 1e6
	rate := 0.0
	if secs > 0 {
		rate = mb / secs
	}
	if final {
		b.done = true
		if b.tty {
			fmt.Fprint(b.w, "\r\x1b[K") // clear the bar's line
		}
		fmt.Fprintf(b.w, "%s: %.1f MB in %.1f s (%.0f MB/s)\n", b.label, mb, secs, rate)
		return
	}
	frac := min(float64(written)/float64(max(total, 1)), 1)
	const width = 30
	fill := int(frac * width)
	line := fmt.Sprintf("%s [%s%s] %5.1f%% %8.1f MB %6.0f MB/s",
		b.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*frac, mb, rate)
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
}
