package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// pprofEnv names the environment variable that, set to a loopback address
// such as 127.0.0.1:6060, makes `confab serve` serve Go's profiling
// endpoints there (for `go tool pprof` during a benchmark), with blocking
// and mutex contention sampled as well.
const pprofEnv = "CONFAB_PPROF"

// startProfiling serves the profiling endpoints on addr, which must be a
// loopback address: profiles reveal memory contents and must not be exposed.
func startProfiling(addr string, out io.Writer, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", pprofEnv, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s=%q: profiling is served on loopback addresses only", pprofEnv, addr)
	}
	// Blocking and lock contention are sampled too: a stalled server shows
	// where it waits, which a CPU profile cannot.
	runtime.SetBlockProfileRate(int(time.Millisecond))
	runtime.SetMutexProfileFraction(100)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pprofEnv, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("profiling server", "err", err)
		}
	}()
	fmt.Fprintf(out, "profiling: http://%s/debug/pprof/\n", ln.Addr())
	return func() { srv.Close() }, nil
}
