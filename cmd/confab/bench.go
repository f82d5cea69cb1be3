package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/confab/confab/internal/bench"
)

// benchCmd runs `confab bench <scenario> [flags]`, the load generator (see
// internal/bench): it starts this binary as a child `confab serve` (or drives
// --target), reports what it measured, and fails when the run found lost,
// duplicated, reordered or leaked messages.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the confab binary to start: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = bench.Command(ctx, args, exe, stdout, stderr)
	if errors.Is(err, bench.ErrUsage) {
		return errUsage
	}
	return err
}
