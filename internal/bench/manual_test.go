package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestManual runs `confab bench` with the arguments in $CONFAB_BENCH_ARGS
// (for example "dense --sessions 500 --json /tmp/d.json") against the freshly
// built binary, printing the table and progress to the test's stdout and
// stderr. It is skipped unless the variable is set; it lets the generator be
// run before the `bench` command is wired into cmd/confab, and with
// `go test -cpuprofile` around the generator side.
func TestManual(t *testing.T) {
	args := os.Getenv("CONFAB_BENCH_ARGS")
	if args == "" {
		t.Skip("set CONFAB_BENCH_ARGS to run the generator by hand")
	}
	exe := confabBinary(t)
	if err := Command(context.Background(), strings.Fields(args), exe, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}
