package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// Switches are a process's context switches, summed over its threads:
// Voluntary when a thread went to sleep (a futex, a blocking system call,
// the runtime's own sleeps), Involuntary when the kernel took a running
// thread off its CPU for another. On a virtual machine a sleep and its
// wake-up can cost more CPU than the work between them (docs/benchmarks.md,
// issue 17's twelfth round), so the bench reports them per message.
type Switches struct {
	Voluntary, Involuntary int64
}

// ReadSwitches sums the context switches of every thread of pid now alive
// (/proc/<pid>/task/*/status; the process's own status file counts its
// first thread only). A thread that exits between two readings takes its
// counts with it, so a difference can undercount; the server's threads
// live as long as it does.
func ReadSwitches(pid int) (Switches, error) {
	var sw Switches
	paths, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(paths) == 0 {
		return sw, fmt.Errorf("read context switches of %d: no threads under /proc/%d/task", pid, pid)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited after the glob
		}
		v, n := parseSwitches(string(b))
		sw.Voluntary += v
		sw.Involuntary += n
	}
	return sw, nil
}

// readSwitches is ReadSwitches for a window, which goes without the figure
// rather than failing.
func readSwitches(pid int) (Switches, bool) {
	sw, err := ReadSwitches(pid)
	return sw, err == nil
}

// parseSwitches returns voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches from a status file; a missing line counts 0.
func parseSwitches(s string) (voluntary, involuntary int64) {
	n := statusNumbers(s)
	return n["voluntary_ctxt_switches"], n["nonvoluntary_ctxt_switches"]
}

// perMessage is n events per delivered message, to three places; 0 when
// nothing was delivered.
func perMessage(n, delivered int64) float64 {
	if delivered <= 0 {
		return 0
	}
	return round3(float64(n) / float64(delivered))
}
