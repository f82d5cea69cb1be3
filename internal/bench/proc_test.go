package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/confab/confab/internal/config"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want float64
		ok   bool
	}{
		{"plain", "1234 (confab) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0", 3.0, true},
		{"name with spaces and parens", "99 (my (odd) prog) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0", 0.1, true},
		{"too short", "1 (x) S 1 2 3", 0, false},
		{"no name", "garbage", 0, false},
		{"bad number", "1 (x) S 1 2 3 4 5 6 7 8 9 10 xx 3 0", 0, false},
	}
	for _, tc := range tests {
		got, err := parseProcStat(tc.line)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("%s: got %v, %v; want %v ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseProcStatus(t *testing.T) {
	rss, hwm, threads := parseProcStatus("Name:\tconfab\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t7\n")
	if rss != 1024*1024 || hwm != 2048*1024 || threads != 7 {
		t.Fatalf("rss %d hwm %d threads %d", rss, hwm, threads)
	}
}

func TestReadProcStatSelf(t *testing.T) {
	st, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.RSS <= 0 || st.HWM < st.RSS || st.Threads < 1 {
		t.Fatalf("implausible %+v", st)
	}
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		in   string
		want Endpoints
		ok   bool
	}{
		{"http://127.0.0.1:8080/", Endpoints{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080"}, true},
		{"webapi=http://127.0.0.1:1,agent=http://127.0.0.1:2", Endpoints{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:1", "http://127.0.0.1:1"}, true},
		{"", Endpoints{}, false},
		{"127.0.0.1:8080", Endpoints{}, false},
		{"bogus=http://127.0.0.1:1", Endpoints{}, false},
	}
	for _, tc := range tests {
		got, err := ParseTargets(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseTargets(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCheckLocal(t *testing.T) {
	local := Endpoints{"http://127.0.0.1:1", "http://localhost:2", "http://[::1]:3", "http://127.0.0.1:4"}
	if err := checkLocal(local); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	remote := local
	remote.ESP = "http://10.0.0.1:80"
	if err := checkLocal(remote); err == nil {
		t.Error("non-loopback target accepted")
	}
}

// The generated configuration must load cleanly: a typo in an option name
// would be only a warning for the server, and the run would measure
// something else than documented.
func TestBenchConfigLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ini")
	if err := os.WriteFile(path, []byte(benchConfig("a", "e", "", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, warnings, err := config.Load(path)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("config: %v, warnings %v", err, warnings)
	}
	if cfg.Settings.TranscriptAutoSave != 1 || cfg.Settings.LimitForSessions != 1000000 {
		t.Fatalf("auto-save %d, limit %d", cfg.Settings.TranscriptAutoSave, cfg.Settings.LimitForSessions)
	}
}

func TestParseAgentToken(t *testing.T) {
	tests := []struct {
		out, want string
		ok        bool
	}{
		{"agent a (a, AGENT) added.\ntoken (shown once, keep it secret): cfa_abc-DEF\n", "cfa_abc-DEF", true},
		{"agent a added\n", "", false},
		{"token (shown once): \n", "", false},
	}
	for _, tc := range tests {
		got, err := parseAgentToken(tc.out)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAgentToken(%q) = %q, %v; want %q ok=%v", tc.out, got, err, tc.want, tc.ok)
		}
	}
}
