package cluster_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/confab/confab/internal/leakcheck"
)

// The process tests run the confab binary; it is built once per test run
// (a cached `go build` still links for several seconds on a loaded
// machine), into a directory TestMain removes.
var exe struct {
	dir  string
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "confab-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exe.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := leakcheck.Check(leakcheck.Wait); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// buildExe returns the confab binary, built on first use.
func buildExe(t *testing.T) string {
	t.Helper()
	exe.once.Do(func() {
		exe.path = filepath.Join(exe.dir, "confab")
		if out, err := exec.Command("go", "build", "-o", exe.path, "github.com/confab/confab/cmd/confab").CombinedOutput(); err != nil {
			exe.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if exe.err != nil {
		t.Fatal(exe.err)
	}
	return exe.path
}
