package bench

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
)

// generatorGC makes the generator collect garbage less often than Go's
// default (GOGC 400 instead of 100, under a soft limit of 4 GiB), unless
// the environment sets GOGC or GOMEMLIMIT: its live heap is small (the
// tracker's bitsets, the sessions' clients) and its garbage is the frames
// it reads, so at the default the collector is a tenth of its CPU, CPU
// that on a shared box the server does not get. The child server keeps
// its own settings.
func generatorGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(4 << 30)
	}
}

// startCPUProfile starts profiling this process — the generator, never the
// child server, whose profile comes from its own CONFAB_PPROF endpoint —
// into path; stop ends the profile and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
