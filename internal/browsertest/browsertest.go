// Package browsertest starts Debian's headless Chromium for the tests that
// drive a real browser through chromedp: it finds the binary (a missing one
// skips the test outside CI and fails it under CI=true, where .ci/run
// installs it) and opens an allocator with the flags every browser test
// uses. It is imported by tests only.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of the headless Chromium binary.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); the browser test needs it")
	return ""
}

// Allocator starts the browser exe with a fresh profile directory and
// returns the allocator context that chromedp.NewContext takes; the browser
// is stopped when the test ends. A width or height of 0 leaves the window
// at Chromium's default size. Extra options come after the common ones.
func Allocator(t testing.TB, exe string, width, height int, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	if width > 0 && height > 0 {
		opts = append(opts, chromedp.WindowSize(width, height))
	}
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	t.Cleanup(cancel)
	return ctx
}
