// Package loglevel maps the reference's [log] verbose values onto slog
// levels and filters a handler by a level that can change while the node
// runs (a reload); Fanout hands records to several outputs by level (the
// reference's per-level [log] outputs). Both handlers are safe for
// concurrent use as far as the handlers they wrap are: the level is a
// slog.LevelVar and the fan-out holds no state of its own.
package loglevel

import (
	"context"
	"log/slog"
)

// Off is a level above every record: verbose = none.
const Off = slog.Level(1 << 10)

// FromVerbose returns the level of a [log] verbose value: all, debug and
// trace log everything (slog's Debug and up); standard logs Info and up
// (the operational lines); none logs nothing. Unknown values are
// standard.
func FromVerbose(v string) slog.Level {
	switch v {
	case "all", "debug", "trace":
		return slog.LevelDebug
	case "none":
		return Off
	}
	return slog.LevelInfo
}

// Filter returns a handler that passes to h only records at level or
// above.
func Filter(h slog.Handler, level *slog.LevelVar) slog.Handler {
	return &filter{h: h, level: level}
}

type filter struct {
	h     slog.Handler
	level *slog.LevelVar
}

func (f *filter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.level.Level() && f.h.Enabled(ctx, l)
}

func (f *filter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }

func (f *filter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &filter{h: f.h.WithAttrs(attrs), level: f.level}
}

func (f *filter) WithGroup(name string) slog.Handler {
	return &filter{h: f.h.WithGroup(name), level: f.level}
}
