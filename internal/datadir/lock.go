package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// FileName is the lock file in the data directory; it holds the pid of the
// process holding the lock.
const FileName = "confab.lock"

// ErrLocked means another process holds the data directory.
var ErrLocked = errors.New("data directory is in use by another Confab server")

// Lock is a held data-directory lock.
type Lock struct {
	dir string

	mu sync.Mutex // guards the following
	f  *os.File
}

// Acquire creates dir if needed and takes its lock without waiting. If
// another process holds it, the error wraps ErrLocked and names the
// directory and that process's pid.
func Acquire(dir string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", abs, err)
	}
	path := filepath.Join(abs, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: open lock file: %w", abs, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by pid %s (lock file %s)", ErrLocked, abs, holder(path), path)
		}
		return nil, fmt.Errorf("data directory %s: lock %s: %w", abs, path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err == nil {
			err = f.Sync()
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s: write pid to %s: %w", abs, path, err)
	}
	return &Lock{dir: abs, f: f}, nil
}

// holder reads the pid recorded in the lock file.
func holder(path string) string {
	b, err := os.ReadFile(path)
	pid := strings.TrimSpace(string(b))
	if err != nil || pid == "" {
		return "unknown"
	}
	return pid
}

// Dir returns the absolute path of the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Release gives the lock up; it is idempotent.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
