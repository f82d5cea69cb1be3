package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles confab once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "confab")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestServeStartsAndStopsOnSIGTERM runs the real binary: it prints its URLs,
// answers /healthz and /readyz, and exits 0 soon after SIGTERM.
func TestServeStartsAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	health := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/healthz`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				health <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-health:
	case <-time.After(30 * time.Second):
		t.Fatalf("no health URL printed; stderr:\n%s", stderr.String())
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "confab.db")); err != nil {
		t.Fatalf("no store file in the data directory: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
}

func TestServeRefusesBadStart(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.ini")
	os.WriteFile(badConfig, []byte("[settings]\nflex-disconnect-timeout = 0\nno-such-option = 1\n"), 0o644)
	notADir := filepath.Join(dir, "file")
	os.WriteFile(notADir, []byte("x"), 0o644)
	corrupt := filepath.Join(dir, "corrupt")
	os.MkdirAll(corrupt, 0o755)
	garbage := bytes.Repeat([]byte("not a database "), 1000)
	os.WriteFile(filepath.Join(corrupt, "confab.db"), garbage, 0o644)

	tests := []struct {
		name string
		args []string
		want []string // all must appear in stderr
	}{
		{"invalid option value", []string{"--config", badConfig}, []string{"flex-disconnect-timeout", `"0"`, "1–1728000", "no-such-option"}},
		{"missing config file", []string{"--config", filepath.Join(dir, "nope.ini")}, []string{"nope.ini"}},
		{"data dir is a file", []string{"--data-dir", notADir}, []string{notADir}},
		{"corrupt store", []string{"--data-dir", corrupt}, []string{filepath.Join(corrupt, "confab.db")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d")}, tt.args...)
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("serve started; stderr:\n%s", stderr.String())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("serve kept running")
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func TestConfigCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"config", "--unimplemented"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "ixn-submittedby-name") || strings.Contains(out.String(), "flex-disconnect-timeout") ||
		strings.Contains(out.String(), "async-idle-alert") || strings.Contains(out.String(), "inactivity-control") {
		t.Fatalf("--unimplemented should list ixn-submittedby-name and not flex-disconnect-timeout, async-idle-alert or [inactivity-control]:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "confab ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
	if code := run([]string{"bogus"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}

// TestConfigurationDocIsCurrent keeps docs/configuration.md's option table
// equal to `confab config --all`; regenerate the table when it fails.
func TestConfigurationDocIsCurrent(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"config", "--all"}, &out, &errOut); code != 0 {
		t.Fatalf("config --all: exit %d: %s", code, errOut.String())
	}
	if !bytes.Contains(doc, out.Bytes()) {
		t.Fatal("docs/configuration.md does not hold the current `confab config --all` table; regenerate it")
	}
}

func TestProfilingOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		if stop, err := startProfiling(addr, io.Discard, log); err == nil {
			stop()
			t.Errorf("startProfiling(%q) accepted a non-loopback address", addr)
		}
	}
	var out bytes.Buffer
	stop, err := startProfiling("127.0.0.1:0", &out, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	m := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/debug/pprof/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no profiling URL printed: %q", out.String())
	}
	resp, err := http.Get("http://" + m[1] + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cmdline endpoint = %d", resp.StatusCode)
	}
}
