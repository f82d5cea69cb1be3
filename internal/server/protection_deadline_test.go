package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
)

// deadlineWriter is a ResponseWriter that records the deadlines
// http.ResponseController sets on it, as a connection would hold them.
type deadlineWriter struct {
	*httptest.ResponseRecorder
	read, write time.Time
}

func (w *deadlineWriter) SetReadDeadline(t time.Time) error  { w.read = t; return nil }
func (w *deadlineWriter) SetWriteDeadline(t time.Time) error { w.write = t; return nil }

// slowBody is a client sending size bytes in chunk-byte pieces, one every
// gap of the fake clock, stopping for stall once after the first stallAt
// bytes (1 MB: 30 s + 61 s earned at 16 KiB/s). Like a connection, a read past the read deadline fails.
type slowBody struct {
	clk                  *clock.Fake
	w                    *deadlineWriter
	size, chunk, stallAt int64
	gap, stall           time.Duration
	sent                 int64
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.sent == b.size {
		return 0, io.EOF
	}
	b.clk.Advance(b.gap)
	if b.stall > 0 && b.sent >= b.stallAt {
		b.clk.Advance(b.stall)
		b.stall = 0
	}
	if !b.w.read.IsZero() && b.clk.Now().After(b.w.read) {
		return 0, os.ErrDeadlineExceeded
	}
	n := min(int64(len(p)), b.chunk, b.size-b.sent)
	b.sent += n
	return int(n), nil
}

func (b *slowBody) Close() error { return nil }

// TestBodyDeadlineFollowsProgress drives withDeadlines with a fake clock:
// a body arriving faster than body-min-rate is never cut off however long
// it takes (a 110 MB agent upload at 64 KiB/s takes half an hour), one
// slower than the rate or stalling past body-timeout is, and body-min-rate
// 0 keeps body-timeout a bound on the whole body (the old behaviour, which
// cut off a legitimate upload on a slow link or a busy node). Once the
// body is in, the answer gets write-timeout from that moment.
func TestBodyDeadlineFollowsProgress(t *testing.T) {
	const kib = 1 << 10
	cases := []struct {
		name   string
		rate   int
		size   int64
		chunk  int64
		gap    time.Duration
		stall  time.Duration
		wantOK bool
	}{
		{"large upload at 64 KiB/s, rate 16 KiB/s", 16 * kib, 110_000_000, 32 * kib, 500 * time.Millisecond, 0, true},
		{"3 MB at 20 KiB/s, rate 16 KiB/s", 16 * kib, 3_000_000, 4 * kib, 200 * time.Millisecond, 0, true},
		{"large upload at 64 KiB/s, rate 0", 0, 110_000_000, 32 * kib, 500 * time.Millisecond, 0, false},
		{"3 MB at 8 KiB/s, rate 16 KiB/s", 16 * kib, 3_000_000, 4 * kib, 500 * time.Millisecond, 0, false},
		{"a stall mid-body past body-timeout and the time earned (91 s)", 16 * kib, 3_000_000, 32 * kib, 10 * time.Millisecond, 100 * time.Second, false},
		{"a stall mid-body within the time earned", 16 * kib, 3_000_000, 32 * kib, 10 * time.Millisecond, 80 * time.Second, true},
		{"small body within body-timeout, rate 0", 0, 100 * kib, 4 * kib, 100 * time.Millisecond, 0, true},
		{"a form in at once: the start's write deadline stays", 16 * kib, 300, 300, time.Millisecond, 0, true},
		{"a form in just over a second", 16 * kib, 300, 150, 600 * time.Millisecond, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			clk := clock.NewFake(start)
			p := config.Protection{BodyTimeout: 30 * time.Second, BodyMinRate: tc.rate, WriteTimeout: 30 * time.Second}
			var readErr error
			var bodyEnd time.Time
			var got int64
			h := withDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, readErr = io.Copy(io.Discard, r.Body)
				bodyEnd = clk.Now()
			}), p, clk.Now)
			w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder()}
			body := &slowBody{clk: clk, w: w, size: tc.size, chunk: tc.chunk, gap: tc.gap, stall: tc.stall, stallAt: 1_000_000}
			r := httptest.NewRequest(http.MethodPost, "/upload", strings.NewReader(""))
			r.Body = body
			h.ServeHTTP(w, r)
			if tc.wantOK {
				if readErr != nil || got != tc.size {
					t.Fatalf("cut off after %d of %d bytes (%v of fake time): %v", got, tc.size, bodyEnd.Sub(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)), readErr)
				}
				if !w.read.IsZero() {
					t.Fatalf("the read deadline %v was not lifted at the body's end", w.read)
				}
				want := bodyEnd.Add(p.WriteTimeout + longPollAllowance)
				if bodyEnd.Sub(start) < minDeadlineStep {
					want = start.Add(p.WriteTimeout + longPollAllowance) // not moved for less than a second
				}
				if !w.write.Equal(want) {
					t.Fatalf("write deadline %v, want %v (write-timeout from the body's end)", w.write, want)
				}
				return
			}
			if !errors.Is(readErr, os.ErrDeadlineExceeded) || got == tc.size {
				t.Fatalf("a body that should be cut off was read: %d of %d bytes, %v", got, tc.size, readErr)
			}
		})
	}
}
