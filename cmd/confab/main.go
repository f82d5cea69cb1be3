// Command confab is the Confab chat server: one binary that serves the
// customer Chat API v2, the agent protocol and the workflow (ESP) API, and
// carries the operator's helpers.
//
//	confab serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--store-dsn DSN]
//	confab config [--config FILE] [--all | --unimplemented]
//	confab agent add|list|remove ...
//	confab pii list|add|remove|test ...
//	confab bench dense|async|churn|throughput|cometd [flags]
//	confab version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command-line mistake; run prints the usage and exits 2.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "config":
		err = configCmd(args[1:], stdout, stderr)
	case "agent":
		err = agentCmd(args[1:], stdout, stderr)
	case "pii":
		err = piiCmd(args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "drain":
		err = drainCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "confab %s\n", version)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "confab: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		// A usage error with a message of its own (not the bare sentinel,
		// whose usage text was printed already) says what was wrong.
		if msg := strings.TrimSuffix(err.Error(), ": "+errUsage.Error()); err != errUsage && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "confab: %s\n", msg)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "confab: %v\n", err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: confab <command> [flags]

commands:
  serve     run the chat server (flags: --config FILE --data-dir DIR --listen ADDR --store-dsn DSN)
  config    list the configuration options (flags: --config FILE --all --unimplemented)
  agent     manage agent accounts: agent add|list|remove (see docs/agent-protocol.md)
  pii       manage masking rules: pii list|add|remove|test (see docs/masking.md)
  drain     make a cluster node hand its chats to the others: drain --url AGENT_URL --token ADMIN_TOKEN
  bench     run the load generator: bench dense|async|churn|throughput|cometd (see docs/benchmarks.md)
  version   print the version
`)
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "INI configuration `file` (default: built-in defaults)")
	dataDir := fs.String("data-dir", "confab-data", "`directory` for the embedded store")
	listen := fs.String("listen", "", "one `address` for every API, overriding [ports] (default from the configuration: 127.0.0.1:8080)")
	storeDSN := fs.String("store-dsn", "", "PostgreSQL connection `string` for the store, overriding [store] (default: the embedded SQLite store)")
	noDemo := fs.Bool("no-demo", false, "do not create the demo agent and supervisor on a first run on loopback")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "confab serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	// The server filters by [log] verbose; the handler passes everything.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default()
	if *configPath != "" {
		var warnings []config.Warning
		var err error
		cfg, warnings, err = config.Load(*configPath)
		for _, w := range warnings {
			log.Warn(w.String())
		}
		if err != nil {
			return fmt.Errorf("configuration refused, not starting:\n%w", err)
		}
	}
	if cfg.Log != config.Default().Log { // [log] outputs, segments, time stamps
		l, closeLogs, err := openLogs(cfg.Log, stdout, stderr)
		if err != nil {
			return fmt.Errorf("configuration refused, not starting: %w", err)
		}
		defer closeLogs()
		log = l
	}

	if addr := os.Getenv(pprofEnv); addr != "" {
		stopProfiling, err := startProfiling(addr, stdout, log)
		if err != nil {
			return err
		}
		defer stopProfiling()
	}
	storeProcs(cfg, *storeDSN, log) // procs.go
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, server.Options{
		Config: cfg, ConfigPath: *configPath, DataDir: *dataDir, Listen: *listen, StoreDSN: *storeDSN,
		Logger: log, Out: stdout, DemoAccounts: !*noDemo,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		shutdown(srv, log)
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if err := srv.Reload(); err != nil {
				log.Error("config reload failed; keeping the last good configuration", "err", err)
			}
		case <-ctx.Done():
			log.Info("shutting down")
			return shutdown(srv, log)
		}
	}
}

// shutdown gives the server up to 9 s to stop cleanly, inside the 10 s an
// operator may expect.
func shutdown(srv *server.Server, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func configCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "check this INI `file` and report its warnings and errors")
	all := fs.Bool("all", false, "list every option the reference documents")
	unimplemented := fs.Bool("unimplemented", false, "list the options Confab accepts but does not act on yet")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *configPath != "" {
		_, warnings, err := config.Load(*configPath)
		for _, w := range warnings {
			fmt.Fprintln(stdout, "warning:", w.String())
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: valid\n", *configPath)
		if line := config.UnimplementedWarning(config.UnimplementedFile(*configPath)); line != "" {
			fmt.Fprintln(stdout, "warning:", line)
		}
		if !*all && !*unimplemented {
			return nil
		}
	}
	opts := config.Options()
	if *unimplemented {
		var out []config.Option
		for _, o := range opts {
			if !o.Implemented {
				out = append(out, o)
			}
		}
		opts = out
	} else if !*all {
		fmt.Fprintln(stderr, "confab config: give --all, --unimplemented or --config FILE")
		return errUsage
	}
	config.WriteTable(stdout, opts)
	return nil
}
