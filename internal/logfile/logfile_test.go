package logfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/logfile"
)

func TestSizeSegmentsAndExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "confab.log")
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	f, err := logfile.Open(logfile.Options{Path: path, Segment: config.LogSegment{Bytes: 100}, Expire: config.LogExpire{Files: 2}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two lines per segment
	for i := 0; i < 9; i++ {
		clk.Advance(time.Second)
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	segs := f.Segments()
	if len(segs) != 2 {
		t.Fatalf("kept %d segments, want 2 (expire 2): %v", len(segs), segs)
	}
	for _, s := range segs {
		if b, _ := os.ReadFile(s); len(b) != 80 {
			t.Errorf("%s holds %d bytes, want 80", s, len(b))
		}
	}
	if b, _ := os.ReadFile(path); len(b) != 40 {
		t.Errorf("current segment holds %d bytes, want 40", len(b))
	}
}

func TestAgeSegmentsAndDayExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confab.log")
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	f, err := logfile.Open(logfile.Options{Path: path, Segment: config.LogSegment{Age: time.Hour}, Expire: config.LogExpire{Age: 24 * time.Hour}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < 30; i++ { // one line an hour for 30 hours
		f.Write([]byte("line\n"))
		clk.Advance(time.Hour)
	}
	f.Write([]byte("last\n"))
	segs := f.Segments()
	// Segments end every hour; those ended more than 24 h ago are gone.
	if len(segs) < 23 || len(segs) > 25 {
		t.Errorf("kept %d hourly segments with expire 1 day", len(segs))
	}
}
