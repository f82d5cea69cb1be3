package loglevel

import (
	"context"
	"errors"
	"log/slog"
)

// Output is one destination of a Fanout: a handler and the lowest level
// it takes.
type Output struct {
	Handler slog.Handler
	Min     slog.Level
}

// Fanout returns a handler that hands each record to every output whose
// Min it reaches (the reference's per-level [log] outputs).
func Fanout(outs ...Output) slog.Handler { return fanout(outs) }

type fanout []Output

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, o := range f {
		if l >= o.Min && o.Handler.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, o := range f {
		if r.Level >= o.Min && o.Handler.Enabled(ctx, r.Level) {
			if err := o.Handler.Handle(ctx, r.Clone()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, o := range f {
		out[i] = Output{Handler: o.Handler.WithAttrs(attrs), Min: o.Min}
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, o := range f {
		out[i] = Output{Handler: o.Handler.WithGroup(name), Min: o.Min}
	}
	return out
}
