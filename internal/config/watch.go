package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is the Watcher's polling interval when none is given.
const DefaultPollInterval = 2 * time.Second

// Watcher keeps the active Config of a running server in step with its
// file. It reloads when told to (Reload, which the server calls on SIGHUP)
// and when the file's contents change (Check, which Run calls on every
// tick). A file that does not parse is logged and ignored: the last good
// Config stays active. Options that need a restart keep their old value
// (see Reconcile) and a change to them is logged as such.
//
// Current may be called from any goroutine at any time. Reload, Check and
// Run may run concurrently with each other; reloads are serialised.
type Watcher struct {
	path     string
	log      *slog.Logger
	interval time.Duration
	onChange func(old, new *Config)

	cur atomic.Pointer[Config] // the active Config, never nil

	mu sync.Mutex // guards the following and serialises reloads
	// sum is the hash of the contents last read, good or bad, so that a
	// bad file is reported once and not on every poll.
	sum     [sha256.Size]byte
	haveSum bool
	// readErr is the last read error reported, so it is not repeated.
	readErr string
}

// NewWatcher returns a Watcher for the file at path whose active Config
// starts as initial (normally what Load returned for the same file).
// interval is the polling period of Run; zero or less means
// DefaultPollInterval. onChange, if not nil, is called after a reload
// changed the active Config, with the previous and the new one; it runs
// on the goroutine that called Reload, Check or Run and must not call
// Reload or Check itself. A nil initial means Default(); a nil log
// discards the messages.
func NewWatcher(path string, initial *Config, log *slog.Logger, interval time.Duration, onChange func(old, new *Config)) *Watcher {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if initial == nil {
		initial = Default()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{path: path, log: log, interval: interval, onChange: onChange}
	w.cur.Store(initial)
	if data, err := readFile(path); err == nil {
		w.sum, w.haveSum = sha256.Sum256(data), true
	}
	return w
}

// Current returns the active Config.
func (w *Watcher) Current() *Config { return w.cur.Load() }

// Reload reads and applies the file even if it looks unchanged. It
// returns the read or parse error, if any; the active Config is then
// unchanged.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.reloadLocked(true)
	return err
}

// Check performs one polling step: it reads the file and, if its contents
// differ from the last read, reloads it. It reports whether the active
// Config changed. Check never sleeps, so tests call it directly.
func (w *Watcher) Check() (changed bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reloadLocked(false)
}

// Run calls Check every polling interval until ctx is done, then returns
// nil. Errors are logged by Check and do not stop the loop.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = w.Check()
		}
	}
}

// reloadLocked reads the file and applies it if force is set or its
// contents changed. The whole file is hashed on every poll: it is small,
// and the hash catches edits that keep its size and modification time.
func (w *Watcher) reloadLocked(force bool) (bool, error) {
	data, err := readFile(w.path)
	if err != nil {
		if msg := err.Error(); force || msg != w.readErr {
			w.readErr = msg
			w.log.Error("config: cannot read file, keeping the current configuration", "path", w.path, "err", err)
		}
		return false, err
	}
	w.readErr = ""
	sum := sha256.Sum256(data)
	if !force && w.haveSum && sum == w.sum {
		return false, nil
	}
	w.sum, w.haveSum = sum, true

	next, warns, err := Parse(w.path, data)
	for _, wn := range warns {
		w.log.Warn("config: " + wn.String())
	}
	if err != nil {
		for _, e := range flatten(err) {
			w.log.Error("config: " + e.Error())
		}
		w.log.Error("config: file rejected, keeping the last good configuration", "path", w.path)
		return false, fmt.Errorf("config: reload %s: %w", w.path, err)
	}

	old := w.cur.Load()
	active, changes := Reconcile(old, next)
	applied := 0
	for _, ch := range changes {
		if ch.RestartRequired {
			w.log.Warn(ch.String(), "section", ch.Section, "option", ch.Option)
			continue
		}
		applied++
		w.log.Info(ch.String(), "section", ch.Section, "option", ch.Option)
	}
	if applied == 0 {
		if force {
			w.log.Info("config: reloaded, nothing to apply", "path", w.path)
		}
		return false, nil
	}
	w.cur.Store(active)
	if w.onChange != nil {
		w.onChange(old, active)
	}
	return true, nil
}
