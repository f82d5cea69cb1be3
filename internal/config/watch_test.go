package config_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

// logBuffer collects log output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns and clears what was logged.
func (b *logBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

type watchFixture struct {
	t     *testing.T
	path  string
	logs  *logBuffer
	w     *config.Watcher
	mu    sync.Mutex // guards calls
	calls [][2]*config.Config
}

func newWatchFixture(t *testing.T, initial string) *watchFixture {
	t.Helper()
	f := &watchFixture{t: t, path: filepath.Join(t.TempDir(), "confab.ini"), logs: &logBuffer{}}
	f.write(initial)
	c, _, err := config.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	f.w = config.NewWatcher(f.path, c, log, 0, func(old, new *config.Config) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, [2]*config.Config{old, new})
	})
	return f
}

func (f *watchFixture) write(s string) {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *watchFixture) check(wantChanged, wantErr bool) {
	f.t.Helper()
	changed, err := f.w.Check()
	if changed != wantChanged || (err != nil) != wantErr {
		f.t.Fatalf("Check() = %v, %v; want changed %v, error %v", changed, err, wantChanged, wantErr)
	}
}

func (f *watchFixture) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func TestWatcherPicksUpChange(t *testing.T) {
	f := newWatchFixture(t, "[settings]\nflex-disconnect-timeout = 45\n")
	first := f.w.Current()

	f.check(false, false) // unchanged file: nothing happens
	if f.callCount() != 0 || f.logs.take() != "" {
		t.Fatal("an unchanged file caused a reload")
	}

	// Same size, written at once: only the contents differ.
	f.write("[settings]\nflex-disconnect-timeout = 99\n")
	f.check(true, false)
	cur := f.w.Current()
	if cur.Settings.FlexDisconnectTimeout != 99*time.Second {
		t.Errorf("FlexDisconnectTimeout = %v after reload", cur.Settings.FlexDisconnectTimeout)
	}
	if first.Settings.FlexDisconnectTimeout != 45*time.Second {
		t.Error("the old Config was modified")
	}
	if f.callCount() != 1 || f.calls[0][0] != first || f.calls[0][1] != cur {
		t.Errorf("callback calls %v", f.calls)
	}
	if logs := f.logs.take(); !strings.Contains(logs, "config: [settings] flex-disconnect-timeout changed from 45 to 99") {
		t.Errorf("change not logged:\n%s", logs)
	}

	f.check(false, false) // and once applied, it is quiet again
}

func TestWatcherKeepsLastGoodConfig(t *testing.T) {
	f := newWatchFixture(t, "[settings]\nflex-disconnect-timeout = 45\n")
	good := f.w.Current()

	f.write("[settings]\nflex-disconnect-timeout = 0\ntranscript-auto-save = 7\n")
	f.check(false, true)
	if f.w.Current() != good {
		t.Error("an invalid file replaced the active Config")
	}
	logs := f.logs.take()
	for _, want := range []string{
		`confab.ini:2: [settings] flex-disconnect-timeout = \"0\": must be integer 1–1728000 (seconds)`,
		`[settings] transcript-auto-save = \"7\": must be one of 0, 1, 2`,
		"keeping the last good configuration",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	// The same bad file is not reported again on every poll.
	f.check(false, false)
	if logs := f.logs.take(); logs != "" {
		t.Errorf("bad file logged again:\n%s", logs)
	}
	// Reload (SIGHUP) does try again and reports again.
	if err := f.w.Reload(); err == nil {
		t.Error("Reload of a bad file returned no error")
	}
	if logs := f.logs.take(); !strings.Contains(logs, "keeping the last good configuration") {
		t.Errorf("forced reload of a bad file not logged:\n%s", logs)
	}

	// A missing file is an error too, and the Config stays.
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	f.check(false, true)
	f.check(false, true)
	if logs := f.logs.take(); strings.Count(logs, "cannot read file") != 1 {
		t.Errorf("missing file should be logged once:\n%s", logs)
	}

	// Fixing the file applies it.
	f.write("[settings]\nflex-disconnect-timeout = 120\n")
	f.check(true, false)
	if f.w.Current().Settings.FlexDisconnectTimeout != 120*time.Second {
		t.Error("fixed file not applied")
	}
	if f.callCount() != 1 {
		t.Errorf("callback called %d times, want 1", f.callCount())
	}
}

func TestWatcherRestartRequired(t *testing.T) {
	f := newWatchFixture(t, "[ports]\nwebapi = :8778\n[admin]\ntoken = one\n")
	first := f.w.Current()

	// Only restart options change: nothing is applied, the change is logged.
	f.write("[ports]\nwebapi = :9000\n[admin]\ntoken = two\n")
	f.check(false, false)
	if f.w.Current() != first || f.callCount() != 0 {
		t.Error("restart-only change was applied")
	}
	logs := f.logs.take()
	if !strings.Contains(logs, "config: [ports] webapi changed from :8778 to :9000; restart required") {
		t.Errorf("restart change not logged:\n%s", logs)
	}
	if strings.Contains(logs, "one") || strings.Contains(logs, "two") {
		t.Errorf("token printed in log:\n%s", logs)
	}

	// Mixed: the immediate one is applied, the restart one keeps its old value.
	f.write("[ports]\nwebapi = :9000\n[admin]\ntoken = two\n[settings]\ntranscript-auto-save = 2\n")
	f.check(true, false)
	cur := f.w.Current()
	if cur.Settings.TranscriptAutoSave != 2 || cur.Ports["webapi"] != ":8778" || cur.Admin.Token != "one" {
		t.Errorf("active config: auto-save %d, webapi %q, token %q", cur.Settings.TranscriptAutoSave, cur.Ports["webapi"], cur.Admin.Token)
	}
}

func TestWatcherReload(t *testing.T) {
	f := newWatchFixture(t, "[settings]\nlimit-for-sessions = 10\n")
	if err := f.w.Reload(); err != nil {
		t.Fatal(err)
	}
	if logs := f.logs.take(); !strings.Contains(logs, "nothing to apply") {
		t.Errorf("forced reload without changes not logged:\n%s", logs)
	}
	f.write("[settings]\nlimit-for-sessions = 20\n")
	if err := f.w.Reload(); err != nil {
		t.Fatal(err)
	}
	if f.w.Current().Settings.LimitForSessions != 20 {
		t.Error("Reload did not apply the change")
	}
	// The poll has nothing left to do afterwards.
	f.check(false, false)
}

func TestWatcherConcurrentReaders(t *testing.T) {
	f := newWatchFixture(t, "[settings]\nlimit-for-sessions = 1\n")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if c := f.w.Current(); c.Settings.LimitForSessions < 1 {
					t.Error("reader saw a bad Config")
					return
				}
			}
		}()
	}
	for i := 2; i < 50; i++ {
		f.write("[settings]\nlimit-for-sessions = " + strconv.Itoa(i) + "\n")
		_, _ = f.w.Check()
		_ = f.w.Reload()
	}
	cancel()
	wg.Wait()
}

func TestWatcherRunStops(t *testing.T) {
	f := newWatchFixture(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- f.w.Run(ctx) }()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v after cancel", err)
	}
}
