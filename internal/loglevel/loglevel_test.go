package loglevel_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/confab/confab/internal/loglevel"
)

func TestFilter(t *testing.T) {
	var buf bytes.Buffer
	var lv slog.LevelVar
	log := slog.New(loglevel.Filter(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), &lv)).With("part", "x")
	for _, c := range []struct {
		verbose          string
		debug, info, err bool
	}{
		{"all", true, true, true}, {"debug", true, true, true}, {"trace", true, true, true},
		{"standard", false, true, true}, {"bogus", false, true, true}, {"none", false, false, false},
	} {
		lv.Set(loglevel.FromVerbose(c.verbose))
		buf.Reset()
		log.Debug("d")
		log.Info("i")
		log.Error("e")
		out := buf.String()
		if strings.Contains(out, "msg=d") != c.debug || strings.Contains(out, "msg=i") != c.info || strings.Contains(out, "msg=e") != c.err {
			t.Errorf("verbose %s: %q", c.verbose, out)
		}
	}
}
