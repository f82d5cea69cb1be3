package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// ErrUsage is returned by Command for a command-line mistake (the usage has
// been printed).
var ErrUsage = errors.New("usage")

// Command runs `confab bench <scenario> [flags]` with args (the words after
// "bench"): it parses the flags, runs the scenario against a child server
// started from exe (or --target), prints the table on stdout and progress on
// stderr, and writes --json and --html. It returns an error when the run
// could not be carried out or found lost, duplicated, reordered or leaked
// messages.
func Command(ctx context.Context, args []string, exe string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: confab bench <%s> [flags]\n       confab bench failover --store-dsn DSN [--mode kill|throughput] [--nodes 3] [flags]\n", strings.Join(Scenarios(), "|"))
		fs.PrintDefaults()
	}
	var o Options
	fs.IntVar(&o.Sessions, "sessions", 0, "dense: concurrent sessions; async: sessions held; churn: workers; throughput: sessions (default per scenario)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long the load runs (default per scenario)")
	fs.DurationVar(&o.SessionLength, "session-length", 0, "dense: length of one session (default 35s)")
	fs.IntVar(&o.ActiveEvery, "active-every", 0, "async: 1 in N sessions is active (default 50)")
	fs.DurationVar(&o.MessageInterval, "message-interval", 0, "async: how often each side of an active session sends (default 5s)")
	fs.StringVar(&o.Customers, "customers", "ws", "how customers receive: ws (WebSocket push), longpoll, or poll")
	fs.DurationVar(&o.PollInterval, "poll-interval", time.Second, "poll: interval between refreshes")
	fs.IntVar(&o.SessionsPerAgent, "sessions-per-agent", 0, "sessions one agent socket holds (default 50; the server allows 100)")
	fs.BoolVar(&o.Offers, "offers", false, "dense: agents are ready desks that take the server's offers (capacity = sessions-per-agent) instead of accepting chats themselves")
	fs.StringVar(&o.AutoSave, "auto-save", "", "the child server's transcript-auto-save: 1 (default), 0, or for throughput both: rounds alternating 1 and 0, with the issue's ratio goals")
	fs.Float64Var(&o.Rate, "rate", 0, "throughput: first a phase where all senders together offer this many messages per second, for CPU per message (default 2000 with --auto-save both)")
	fs.DurationVar(&o.RateDuration, "rate-duration", 0, "throughput: length of the --rate phase (default 10s)")
	fs.IntVar(&o.Rounds, "rounds", 1, "throughput --auto-save both: pairs of runs (1 then 0, 0 then 1, ...)")
	serverExe := fs.String("server-exe", "", "the confab `binary` to start as the server (default: this one), to compare builds with one generator")
	target := fs.String("target", "", "drive a running server instead of starting one: a base URL, or webapi=URL,agent=URL,esp=URL,health=URL")
	fs.StringVar(&o.AdminToken, "admin-token", "", "with --target: the server's [admin] token")
	fs.StringVar(&o.ESPToken, "esp-token", "", "with --target: the server's [esp] token")
	agentTokens := fs.String("agent-tokens", "", "with --target: a file of agent tokens, one per line")
	jsonPath := fs.String("json", "", "write the result as JSON to this `file`")
	htmlPath := fs.String("html", "", "write a self-contained HTML report to this `file`")
	serverConfig := fs.String("server-config", "", "an INI `file` appended to the generated server configuration")
	fs.StringVar(&o.StoreDSN, "store-dsn", "", "run the server on PostgreSQL: the `DSN` of a database where each server gets a fresh schema (dropped after)")
	progress := fs.Duration("progress", 5*time.Second, "interval of the progress line on stderr")
	fs.BoolVar(&o.StdHTTP, "net-http", false, "the generator's HTTP through net/http's Transport instead of its lean keep-alive transport (to compare the generator's own CPU)")
	genProcs := fs.Int("generator-procs", 0, "GOMAXPROCS of the generator (this process only; 0: the Go runtime's default, one per CPU)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the generator (this process only, not the child server) to this `file`")
	fs.Func("server-env", "`KEY=VALUE` added to the child server's environment (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		o.ServerEnv = append(o.ServerEnv, s)
		return nil
	})

	if len(args) == 0 {
		fs.Usage()
		return ErrUsage
	}
	if args[0] == "failover" { // a cluster of nodes: its own flags (failover.go)
		return failoverCommand(ctx, args[1:], exe, stdout, stderr)
	}
	// The scenario comes first; flags may also come before it.
	if !strings.HasPrefix(args[0], "-") {
		o.Scenario, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	if o.Scenario == "" && fs.NArg() > 0 {
		o.Scenario = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return ErrUsage
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "confab bench: unexpected argument %q\n", fs.Arg(0))
		return ErrUsage
	}
	if o.Scenario == "" {
		fs.Usage()
		return ErrUsage
	}
	o.Progress = stderr
	o.ProgressEvery = *progress
	o.Command = "confab bench " + strings.Join(append([]string{o.Scenario}, args...), " ")
	if *target != "" {
		t, err := ParseTargets(*target)
		if err != nil {
			return err
		}
		o.Target = &t
		if *agentTokens != "" {
			b, err := os.ReadFile(*agentTokens)
			if err != nil {
				return fmt.Errorf("agent tokens: %w", err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
					o.AgentTokens = append(o.AgentTokens, line)
				}
			}
		}
	} else {
		o.Exe = exe
		if *serverExe != "" {
			o.Exe = *serverExe
		}
	}
	if *serverConfig != "" {
		b, err := os.ReadFile(*serverConfig)
		if err != nil {
			return fmt.Errorf("server config: %w", err)
		}
		o.ServerConfig = string(b)
	}

	generatorGC()
	if *genProcs > 0 {
		runtime.GOMAXPROCS(*genProcs)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.AutoSave == "both" {
		return compareCommand(ctx, o, stdout, *jsonPath, *htmlPath)
	}
	res, err := Run(ctx, o)
	if err != nil {
		return fmt.Errorf("bench %s: %w", o.Scenario, err)
	}
	out := bufio.NewWriter(stdout)
	res.WriteTable(out)
	res.WriteTimeline(out)
	out.Flush()
	var errs []error
	if *jsonPath != "" {
		errs = append(errs, res.WriteJSON(*jsonPath))
	}
	if *htmlPath != "" {
		errs = append(errs, res.WriteHTML(*htmlPath))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !res.Pass {
		return fmt.Errorf("bench %s FAILED: %s", o.Scenario, strings.Join(res.Failures, "; "))
	}
	return nil
}

// compareCommand runs and reports `throughput --auto-save both`.
func compareCommand(ctx context.Context, o Options, stdout io.Writer, jsonPath, htmlPath string) error {
	c, err := RunCompare(ctx, o)
	if err != nil {
		return fmt.Errorf("bench %s: %w", o.Scenario, err)
	}
	out := bufio.NewWriter(stdout)
	c.WriteTable(out)
	out.Flush()
	var errs []error
	if jsonPath != "" {
		errs = append(errs, c.WriteJSON(jsonPath))
	}
	if htmlPath != "" {
		errs = append(errs, c.WriteHTML(htmlPath))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !c.Pass {
		return fmt.Errorf("bench %s FAILED: %s", o.Scenario, strings.Join(c.Failures, "; "))
	}
	return nil
}
