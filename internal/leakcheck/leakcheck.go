// Package leakcheck fails a test binary whose goroutines outlive its tests:
// goroutines running Confab's code, HTTP servers or connections, or
// WebSockets that a test forgot to stop. Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Wait is how long Main lets goroutines wind down after the tests.
const Wait = 10 * time.Second

// Main runs the tests, then fails the run if goroutines are left over.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := Check(Wait); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Check waits up to wait for leftover goroutines to end and describes those
// that do not.
func Check(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		left := Leftover()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leakcheck: %d goroutines outlived the tests:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Leftover returns the stacks of the goroutines that should have ended: those
// in this module's code, the HTTP stack, network connections or the WebSocket
// library, other than the test framework's own.
func Leftover() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "leakcheck.Leftover") || strings.Contains(g, "testing.(*M).") || strings.Contains(g, "testing.tRunner") {
			continue
		}
		if strings.Contains(g, "github.com/confab/confab/") || strings.Contains(g, "net/http.") ||
			strings.Contains(g, "coder/websocket") || strings.Contains(g, "net.(*netFD)") {
			out = append(out, g)
		}
	}
	return out
}
