// Package logfile writes a log to a file in segments, as the reference's
// [log] segment and expire options say: a new segment starts when the
// current one reaches a size or an age, the finished one is renamed with
// the time it ended, and the oldest finished segments beyond a count (or
// older than an age) are deleted. Time comes from the injected clock.
//
// A File is safe for concurrent use; one mutex serialises writes and
// rotations.
package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
)

// Options configure a File.
type Options struct {
	Path    string
	Segment config.LogSegment
	Expire  config.LogExpire
	Clock   clock.Clock // default: the real clock
}

// stampLayout names a finished segment: <path>.<UTC time it ended>.
const stampLayout = "20060102T150405.000000000Z"

// File is a segmented log file.
type File struct {
	opts Options

	mu     sync.Mutex // guards the following
	f      *os.File
	size   int64
	opened time.Time
}

// Open opens (appending) or creates the log file.
func Open(opts Options) (*File, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	l := &File{opts: opts}
	if err := l.openLocked(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) openLocked() error {
	if dir := filepath.Dir(l.opts.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("logfile: %w", err)
		}
	}
	f, err := os.OpenFile(l.opts.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logfile: %w", err)
	}
	l.f, l.size, l.opened = f, fi.Size(), l.opts.Clock.Now()
	return nil
}

// Write appends p, starting a new segment first when the current one is
// full or old enough.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	seg := l.opts.Segment
	now := l.opts.Clock.Now()
	if l.size > 0 && ((seg.Bytes > 0 && l.size+int64(len(p)) > seg.Bytes) || (seg.Age > 0 && now.Sub(l.opened) >= seg.Age)) {
		if err := l.rotateLocked(now); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *File) rotateLocked(now time.Time) error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	l.f = nil
	done := l.opts.Path + "." + now.UTC().Format(stampLayout)
	if err := os.Rename(l.opts.Path, done); err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	l.pruneLocked(now)
	return l.openLocked()
}

// Segments returns the finished segments, oldest first.
func (l *File) Segments() []string {
	matches, _ := filepath.Glob(l.opts.Path + ".*")
	var out []string
	for _, m := range matches {
		if _, err := time.Parse(stampLayout, strings.TrimPrefix(m, l.opts.Path+".")); err == nil {
			out = append(out, m)
		}
	}
	sort.Strings(out) // the stamps sort in time order
	return out
}

func (l *File) pruneLocked(now time.Time) {
	ex := l.opts.Expire
	segs := l.Segments()
	for i, s := range segs {
		drop := ex.Files > 0 && len(segs)-i > ex.Files
		if ex.Age > 0 {
			if t, err := time.Parse(stampLayout, strings.TrimPrefix(s, l.opts.Path+".")); err == nil && now.Sub(t) > ex.Age {
				drop = true
			}
		}
		if drop {
			os.Remove(s)
		}
	}
}

// Close closes the current segment.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
