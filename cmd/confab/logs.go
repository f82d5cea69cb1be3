package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/logfile"
	"github.com/confab/confab/internal/loglevel"
)

// openLogs builds the serve command's logger from [log]: the outputs of
// all (every level), debug and trace (debug level and up) and standard
// (info and up) — stdout, stderr or file names, files segmented and
// expired per segment and expire — with time stamps per time-format and
// time-convert. With no output set everything goes to stderr. The level
// filter itself ([log] verbose) is the server's.
func openLogs(lc config.Log, stdout, stderr io.Writer) (*slog.Logger, func(), error) {
	seg, err := config.ParseLogSegment(lc.Segment)
	if err != nil {
		return nil, nil, err
	}
	exp, err := config.ParseLogExpire(lc.Expire)
	if err != nil {
		return nil, nil, err
	}
	hopts := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: timeFormat(lc.TimeFormat, lc.TimeConvert == "utc")}
	files := map[string]*logfile.File{}
	var closers []func() error
	writer := func(name string) (io.Writer, error) {
		switch name {
		case "stdout":
			return stdout, nil
		case "stderr":
			return stderr, nil
		}
		if f := files[name]; f != nil {
			return f, nil
		}
		f, err := logfile.Open(logfile.Options{Path: name, Segment: seg, Expire: exp})
		if err != nil {
			return nil, err
		}
		files[name] = f
		closers = append(closers, f.Close)
		return f, nil
	}
	var outs []loglevel.Output
	for _, o := range []struct {
		spec string
		min  slog.Level
	}{{lc.All, slog.LevelDebug}, {lc.Debug, slog.LevelDebug}, {lc.Trace, slog.LevelDebug}, {lc.Standard, slog.LevelInfo}} {
		for _, name := range config.LogOutputs(o.spec) {
			w, err := writer(name)
			if err != nil {
				for _, c := range closers {
					c()
				}
				return nil, nil, fmt.Errorf("[log] output %s: %w", name, err)
			}
			outs = append(outs, loglevel.Output{Handler: slog.NewTextHandler(w, hopts), Min: o.min})
		}
	}
	if len(outs) == 0 {
		outs = append(outs, loglevel.Output{Handler: slog.NewTextHandler(stderr, hopts), Min: slog.LevelDebug})
	}
	closeAll := func() {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		if err := errors.Join(errs...); err != nil {
			fmt.Fprintf(stderr, "confab: closing log files: %v\n", err)
		}
	}
	return slog.New(loglevel.Fanout(outs...)), closeAll, nil
}

// timeFormat rewrites the time stamp of each line per [log] time-format
// (time: 15:04:05.000; locale: 2006-01-02 15:04:05.000; ISO8601:
// RFC 3339 with milliseconds) and time-convert.
func timeFormat(format string, utc bool) func([]string, slog.Attr) slog.Attr {
	layout := map[string]string{"time": "15:04:05.000", "locale": "2006-01-02 15:04:05.000", "ISO8601": "2006-01-02T15:04:05.000Z07:00"}[format]
	return func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 || a.Key != slog.TimeKey || a.Value.Kind() != slog.KindTime {
			return a
		}
		t := a.Value.Time()
		if utc {
			t = t.UTC()
		} else {
			t = t.Local()
		}
		if layout == "" {
			return slog.Time(a.Key, t)
		}
		return slog.String(a.Key, t.Format(layout))
	}
}
