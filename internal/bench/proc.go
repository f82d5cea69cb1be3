package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Endpoints are the base URLs of a node's listeners, as `confab serve`
// prints them ("http://127.0.0.1:PORT", no trailing slash).
type Endpoints struct {
	WebAPI string `json:"webapi"`
	Agent  string `json:"agent"`
	ESP    string `json:"esp"`
	Health string `json:"health"`
}

// ParseTargets reads --target: one base URL for every API, or a
// comma-separated list of id=URL pairs (webapi=, agent=, esp=, health=);
// ids left out take the first URL given.
func ParseTargets(s string) (Endpoints, error) {
	var e Endpoints
	s = strings.TrimSpace(s)
	if s == "" {
		return e, errors.New("empty --target")
	}
	var first string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		id, url, ok := strings.Cut(part, "=")
		if !ok {
			id, url = "", part
		}
		url = strings.TrimRight(url, "/")
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return e, fmt.Errorf("--target %q: want http://host:port", part)
		}
		if first == "" {
			first = url
		}
		switch id {
		case "":
			e = Endpoints{url, url, url, url}
		case "webapi":
			e.WebAPI = url
		case "agent":
			e.Agent = url
		case "esp":
			e.ESP = url
		case "health":
			e.Health = url
		default:
			return e, fmt.Errorf("--target %q: unknown id %q (want webapi, agent, esp or health)", part, id)
		}
	}
	for _, p := range []*string{&e.WebAPI, &e.Agent, &e.ESP, &e.Health} {
		if *p == "" {
			*p = first
		}
	}
	return e, nil
}

// ServerOptions say how to start a child `confab serve`.
type ServerOptions struct {
	// Exe is the confab binary (os.Executable() for the CLI, a freshly built
	// one in tests).
	Exe string
	// Dir is a scratch directory for the data dir, the config file and the
	// server's log; a temporary one is made (and removed by Stop) when empty.
	Dir string
	// ExtraConfig is appended to the generated INI file.
	ExtraConfig string
	// AutoSave is the transcript-auto-save the file sets ("1" when empty).
	AutoSave string
	// Env is added to the child's environment.
	Env []string
	// StartTimeout bounds the wait for readiness (default 60 s).
	StartTimeout time.Duration
	// Prepare, when set, runs on the fresh data directory before the server
	// starts (to create agent accounts: one process at a time may use it).
	Prepare func(dataDir string) error
}

// Process is a child `confab serve` started for a run. Its methods are safe
// for concurrent use.
type Process struct {
	Exe        string
	Dir        string // scratch directory
	DataDir    string
	ConfigPath string
	LogPath    string // the child's stderr and the stdout after start-up
	URLs       Endpoints
	AdminToken string
	ESPToken   string
	Pid        int

	removeDir    bool
	env          []string
	startTimeout time.Duration
	cmd          *exec.Cmd
	logFile      *os.File
	done         chan struct{} // closed when the child has exited
	waitErr      error         // set before done is closed

	mu     sync.Mutex // guards stdout
	stdout bytes.Buffer
}

// benchConfig is the INI file a run's server starts with: every
// acknowledged message durable, no session limit, no per-address or
// per-party rate limits (one address drives every customer), tokens the
// generator knows.
func benchConfig(adminToken, espToken, autoSave, extra string) string {
	if autoSave == "" {
		autoSave = "1"
	}
	return fmt.Sprintf(`; written by confab bench
[settings]
transcript-auto-save = %s
limit-for-sessions = 1000000
limit-for-flex-users = 1000000
; dormant customers of the async scenario send nothing for minutes
flex-disconnect-timeout = 3600

[protection]
; the generator is one address driving thousands of customers at full speed
chat-create-rate = 0
party-send-rate = 0
cometd-handshake-rate = 0
push-connect-rate = 0
cometd-clients-per-address = 0

[admin]
token = %s

[esp]
token = %s
%s`, autoSave, adminToken, espToken, extra)
}

func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// StartServer starts `confab serve` on 127.0.0.1 with a fresh data directory
// and a generated configuration, and returns once its /readyz answers 200.
func StartServer(ctx context.Context, opts ServerOptions) (*Process, error) {
	if opts.Exe == "" {
		return nil, errors.New("start server: no confab binary given")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	p := &Process{Exe: opts.Exe, Dir: opts.Dir, done: make(chan struct{}),
		AdminToken: randomToken(), ESPToken: randomToken()}
	if p.Dir == "" {
		d, err := os.MkdirTemp("", "confab-bench-")
		if err != nil {
			return nil, fmt.Errorf("start server: scratch dir: %w", err)
		}
		p.Dir, p.removeDir = d, true
	}
	p.DataDir = filepath.Join(p.Dir, "data")
	p.ConfigPath = filepath.Join(p.Dir, "confab.ini")
	p.LogPath = filepath.Join(p.Dir, "server.log")
	if err := os.WriteFile(p.ConfigPath, []byte(benchConfig(p.AdminToken, p.ESPToken, opts.AutoSave, opts.ExtraConfig)), 0o600); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("start server: write config: %w", err)
	}
	if opts.Prepare != nil {
		if err := opts.Prepare(p.DataDir); err != nil {
			p.cleanup()
			return nil, fmt.Errorf("start server: prepare data dir: %w", err)
		}
	}
	p.env, p.startTimeout = opts.Env, opts.StartTimeout
	if err := p.launch(ctx); err != nil {
		p.cleanup()
		return nil, err
	}
	return p, nil
}

// launch starts the child on p's data directory and configuration and waits
// until it is ready. The log file is appended to, so a restart keeps the
// first life's log.
func (p *Process) launch(ctx context.Context) error {
	logFile, err := os.OpenFile(p.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start server: log file: %w", err)
	}
	if p.logFile != nil {
		p.logFile.Close()
	}
	p.logFile = logFile
	p.done = make(chan struct{})
	p.URLs = Endpoints{}

	cmd := exec.Command(p.Exe, "serve", "--listen", "127.0.0.1:0", "--data-dir", p.DataDir, "--config", p.ConfigPath)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the generator
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server %s: %w", p.Exe, err)
	}
	done := p.done
	p.cmd, p.Pid = cmd, cmd.Process.Pid
	lines := make(chan string, 64)
	go p.readStdout(out, lines)
	go func() {
		p.waitErr = cmd.Wait()
		close(done)
	}()

	deadline := time.NewTimer(p.startTimeout)
	defer deadline.Stop()
	for p.URLs.Health == "" || p.URLs.WebAPI == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			p.parseURLLine(line)
		case <-done:
			return fmt.Errorf("start server: exited before listening (%v); log:\n%s", p.waitErr, p.logTail(40))
		case <-deadline.C:
			p.kill()
			return fmt.Errorf("start server: no listen addresses printed within %v; log:\n%s", p.startTimeout, p.logTail(40))
		case <-ctx.Done():
			p.kill()
			return ctx.Err()
		}
	}
	if err := waitReady(ctx, p.URLs.Health, done, p.startTimeout); err != nil {
		p.kill()
		return fmt.Errorf("start server: %w; log:\n%s", err, p.logTail(40))
	}
	return nil
}

// Restart stops the server (SIGTERM, up to grace) and starts it again on
// the same data directory and configuration; it returns the error of the
// stop, if any, and of the start. The listen addresses change.
func (p *Process) Restart(ctx context.Context, grace time.Duration) (stopErr, startErr error) {
	stopErr = p.terminate(grace)
	return stopErr, p.launch(ctx)
}

// parseURLLine reads a start-up line "webapi  customer Chat API v2  http://…".
func (p *Process) parseURLLine(line string) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[len(f)-1], "http://") {
		return
	}
	url := strings.TrimRight(f[len(f)-1], "/")
	switch f[0] {
	case "webapi":
		p.URLs.WebAPI = url
	case "agent":
		p.URLs.Agent = url
	case "esp":
		p.URLs.ESP = url
	case "health":
		p.URLs.Health = url
	}
}

// readStdout forwards the first lines to the start-up parser and keeps all
// of the output (tokens printed once, say) for Output.
func (p *Process) readStdout(r io.Reader, lines chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.stdout.WriteString(line)
		p.stdout.WriteByte('\n')
		p.mu.Unlock()
		select {
		case lines <- line:
		default: // nobody listens once started
		}
	}
	close(lines)
}

// Output returns what the server printed on stdout so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func waitReady(ctx context.Context, health string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return errors.New("server exited while starting")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s/readyz not ready within %v (last: %s)", health, timeout, last)
}

// logTail returns the last n lines of the server's log.
func (p *Process) logTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Alive reports whether the child is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stat reads the child's CPU time and memory from /proc.
func (p *Process) Stat() (ProcStat, error) { return ReadProcStat(p.Pid) }

// Stop asks the server to shut down (SIGTERM), waits up to grace for it to
// exit, kills it otherwise, and removes the scratch directory it made. It
// returns the final resource usage of the server's last life as the kernel
// reports it at exit.
func (p *Process) Stop(grace time.Duration) (ProcStat, error) {
	err := p.terminate(grace)
	var final ProcStat
	if ps := p.cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			final.CPUSeconds = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
			final.HWM = ru.Maxrss * 1024
		}
	}
	p.cleanup()
	return final, err
}

// terminate sends SIGTERM and waits up to grace, then kills. It reports an
// exit that was not clean.
func (p *Process) terminate(grace time.Duration) error {
	var err error
	if p.Alive() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			p.kill()
			err = fmt.Errorf("server did not stop within %v after SIGTERM; killed", grace)
		}
	}
	if ps := p.cmd.ProcessState; err == nil && ps != nil && !ps.Success() {
		if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			err = fmt.Errorf("server exited with %v; log:\n%s", ps, p.logTail(20))
		}
	}
	return err
}

// Kill stops the child at once and cleans up.
func (p *Process) Kill() {
	p.kill()
	p.cleanup()
}

func (p *Process) kill() {
	if p.cmd != nil && p.Alive() {
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *Process) cleanup() {
	if p.logFile != nil {
		p.logFile.Close()
	}
	if p.removeDir && os.Getenv("CONFAB_BENCH_KEEP") == "" {
		os.RemoveAll(p.Dir)
	}
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// ProcStat is a process's resource use.
type ProcStat struct {
	CPUSeconds float64 // user + system
	RSS        int64   // resident set now, bytes
	HWM        int64   // peak resident set, bytes
	Threads    int
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports (the kernel fixes it for user space).
const clockTicks = 100

// ReadProcStat reads /proc/<pid>/stat and /proc/<pid>/status.
func ReadProcStat(pid int) (ProcStat, error) {
	var st ProcStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, fmt.Errorf("read proc stat: %w", err)
	}
	if st.CPUSeconds, err = parseProcStat(string(b)); err != nil {
		return st, err
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("read proc status: %w", err)
	}
	st.RSS, st.HWM, st.Threads = parseProcStatus(string(b))
	return st, nil
}

// parseProcStat returns utime+stime in seconds from a /proc/<pid>/stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'.
func parseProcStat(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name in %.60q", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	stt, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc stat: bad utime/stime %q %q", f[11], f[12])
	}
	return float64(ut+stt) / clockTicks, nil
}

// parseProcStatus returns VmRSS and VmHWM (bytes) and Threads.
func parseProcStatus(s string) (rss, hwm int64, threads int) {
	n := statusNumbers(s)
	return n["VmRSS"] * 1024, n["VmHWM"] * 1024, int(n["Threads"])
}

// statusNumbers reads a /proc status file's lines whose value starts with
// a number ("VmRSS:\t  1024 kB" gives VmRSS 1024); other lines are left out.
func statusNumbers(s string) map[string]int64 {
	nums := make(map[string]int64)
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		f := strings.Fields(v)
		if !ok || len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			nums[k] = n
		}
	}
	return nums
}

// RunCLI runs the confab binary with args against the process's data
// directory and configuration (for `confab agent add`, say) and returns its
// standard output.
func (p *Process) RunCLI(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, p.Exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("confab %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
