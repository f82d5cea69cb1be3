package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
)

func TestOpenLogs(t *testing.T) {
	dir := t.TempDir()
	all, std := filepath.Join(dir, "all.log"), filepath.Join(dir, "std.log")
	lc := config.Default().Log
	lc.All, lc.Standard = "stdout, "+all, std
	lc.TimeFormat, lc.TimeConvert = "ISO8601", "utc"
	var stdout, stderr bytes.Buffer
	log, closeLogs, err := openLogs(lc, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("a debug line")
	log.Info("an info line", "k", "v")
	closeLogs()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, out := range map[string]string{"stdout": stdout.String(), "all": read(all)} {
		if !strings.Contains(out, "a debug line") || !strings.Contains(out, "an info line") {
			t.Errorf("%s (all) = %q", name, out)
		}
	}
	if s := read(std); strings.Contains(s, "a debug line") || !strings.Contains(s, "k=v") {
		t.Errorf("standard output = %q", s)
	}
	if !regexp.MustCompile(`time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `).MatchString(stdout.String()) {
		t.Errorf("time stamps not ISO8601 UTC: %q", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr got %q", stderr.String())
	}
	lc.Segment = "ten"
	if _, _, err := openLogs(lc, &stdout, &stderr); err == nil {
		t.Error("a bad segment was accepted")
	}
}
