package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// RaiseFileLimit raises this process's RLIMIT_NOFILE: the soft limit to the
// hard limit and, where the process may (root, CAP_SYS_RESOURCE), the hard
// limit to the kernel's fs.nr_open, since a run holds two descriptors per
// WebSocket customer on this machine (ours and the server's). It returns the
// limit now in force. A child started afterwards inherits it (a Go child
// raises its own soft limit to the hard one at start).
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("get RLIMIT_NOFILE: %w", err)
	}
	if max := nrOpen(); max > lim.Max {
		raised := syscall.Rlimit{Cur: max, Max: max}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return max, nil
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return lim.Cur, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Max, err)
		}
	}
	return lim.Cur, nil
}

// nrOpen returns fs.nr_open, the most descriptors a process may be allowed,
// or 0 if unknown.
func nrOpen() uint64 {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}
