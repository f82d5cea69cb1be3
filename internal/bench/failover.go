package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// `confab bench failover`: a fleet of child `confab serve` nodes on one
// PostgreSQL database (--store-dsn or CONFAB_BENCH_POSTGRES_DSN; the run
// makes its own schema there and drops it), the HA load (haload.go) over
// them, and one of two modes:
//
//   - kill (the default): the load runs for --before, one node is killed
//     with SIGKILL, and the run waits until every chat has answered again on
//     both sides (--after acknowledgements each); it reports the time from
//     the kill to each of the killed node's chats answering again (the
//     customer's first acknowledged send, and the agent's first after it
//     joined again on the survivor that restored the chat) as p50/p99/max,
//     and the acknowledged messages lost or doubled, in the transcripts and
//     on the push channels.
//   - throughput: no kill; both sides of every chat send as fast as they
//     are acknowledged for --duration, and the run reports the acknowledged
//     messages per second and the acknowledgement latency — run it with
//     --nodes 1 and --nodes 3 to compare one node with a cluster on the
//     same PostgreSQL.

// FailoverOptions configure a failover or cluster-throughput run.
type FailoverOptions struct {
	Exe           string
	DSN           string
	Nodes         int
	Chats         int
	AgentsPerNode int
	Mode          string // kill or throughput
	Lease         time.Duration
	Pace          time.Duration // kill mode: pause between one side's sends
	Before        time.Duration // kill mode: load before the kill
	After         int           // kill mode: acknowledgements per side after it
	Recover       time.Duration // kill mode: bound on the recovery
	Duration      time.Duration // throughput mode
	Kill          int           // the node killed
	// AgentsAnywhere: agents on sockets of every node (relayed), with
	// client/agent's failover; otherwise on their chat's owner.
	AgentsAnywhere bool
	Log            io.Writer
}

// FailoverResult is a failover run's outcome.
type FailoverResult struct {
	Command      string        `json:"command"`
	Date         string        `json:"date"`
	Machine      Machine       `json:"machine"`
	LoadAvgStart string        `json:"loadavg_start"`
	LoadAvgEnd   string        `json:"loadavg_end"`
	Mode         string        `json:"mode"`
	Lease        time.Duration `json:"lease_ns"`
	Schema       string        `json:"schema"` // the run's PostgreSQL schema, dropped at its end
	Killed       int           `json:"killed"`
	Recovered    time.Duration `json:"recovered_ns"` // kill → every chat answered again
	Seconds      float64       `json:"seconds"`      // throughput: the sending phase
	PerSecond    float64       `json:"acknowledged_per_second"`
	Report       HAReport      `json:"report"`
	Pass         bool          `json:"pass"`
	Failures     []string      `json:"failures,omitempty"`
}

func (o *FailoverOptions) defaults() error {
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Mode == "" {
		o.Mode = "kill"
	}
	if o.Chats <= 0 {
		o.Chats = 300
	}
	if o.AgentsPerNode <= 0 {
		o.AgentsPerNode = 5
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Second
	}
	if o.Before <= 0 {
		o.Before = 3 * time.Second
	}
	if o.After <= 0 {
		o.After = 2
	}
	if o.Recover <= 0 {
		o.Recover = 60 * time.Second
	}
	if o.Duration <= 0 {
		o.Duration = 20 * time.Second
	}
	switch o.Mode {
	case "kill":
		if o.Nodes < 2 {
			return errors.New("failover: kill mode needs at least 2 nodes")
		}
		if o.Kill < 0 || o.Kill >= o.Nodes {
			return fmt.Errorf("failover: --kill %d: want a node from 0 to %d", o.Kill, o.Nodes-1)
		}
	case "throughput":
	default:
		return fmt.Errorf("failover: --mode %q: want kill or throughput", o.Mode)
	}
	if o.DSN == "" {
		return errors.New("failover: give a PostgreSQL database with --store-dsn (or CONFAB_BENCH_POSTGRES_DSN)")
	}
	return nil
}

func (o *FailoverOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// RunFailover runs a failover or cluster-throughput scenario.
func RunFailover(ctx context.Context, o FailoverOptions) (*FailoverResult, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	res := &FailoverResult{Date: time.Now().UTC().Format(time.RFC3339), Machine: thisMachine(), LoadAvgStart: loadAvg(),
		Mode: o.Mode, Lease: o.Lease, Killed: -1}
	if nofile, err := RaiseFileLimit(); err == nil {
		res.Machine.FileLimit = nofile
	}
	f, err := StartFleet(ctx, FleetOptions{Exe: o.Exe, Nodes: o.Nodes, DSN: o.DSN, Lease: o.Lease, Agents: o.Nodes * o.AgentsPerNode})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res.Schema = f.schema
	o.logf("failover: %d nodes on PostgreSQL (lease %v); creating %d chats", o.Nodes, o.Lease, o.Chats)
	pace := o.Pace
	if o.Mode == "throughput" {
		pace = 0
	} else if pace <= 0 {
		pace = time.Second
	}
	l, err := NewHALoad(ctx, f, HAOptions{Chats: o.Chats, AgentsPerNode: o.AgentsPerNode, Pace: pace, AgentsAnywhere: o.AgentsAnywhere, Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	start := time.Now()
	l.Start(ctx)
	if o.Mode == "throughput" {
		sleepCtx(ctx, o.Duration)
		l.StopSenders()
		res.Seconds = time.Since(start).Seconds()
		res.PerSecond = float64(l.Acked()) / res.Seconds
		o.logf("failover: %d acknowledged in %.1f s", l.Acked(), res.Seconds)
	} else {
		sleepCtx(ctx, o.Before)
		o.logf("failover: %d acknowledged; SIGKILL node %d", l.Acked(), o.Kill)
		killAt := l.Kill(o.Kill)
		res.Killed = o.Kill
		if err := l.WaitRecovered(ctx, o.After, o.Recover); err != nil {
			res.Failures = append(res.Failures, err.Error())
		}
		res.Recovered = time.Since(killAt)
		o.logf("failover: every chat answered again %v after the kill", res.Recovered.Round(time.Millisecond))
	}
	res.Report = l.Verify(ctx, 20*time.Second)
	res.LoadAvgEnd = loadAvg()
	r := res.Report
	for _, bad := range []struct {
		n    int
		what string
	}{{r.Lost, "acknowledged messages lost"}, {r.Duplicates, "duplicates in transcripts"},
		{r.PushLost, "acknowledged messages never pushed"}, {r.PushDuplicates, "duplicates pushed"},
		{r.NotAnswered, "chats of the killed node that never answered"}} {
		if bad.n > 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("%d %s", bad.n, bad.what))
		}
	}
	for _, p := range r.Problems {
		if strings.HasPrefix(p, "chat ") && !strings.Contains(p, "acknowledged") && !strings.Contains(p, "times") {
			res.Failures = append(res.Failures, p) // unreadable transcripts
		}
	}
	res.Pass = len(res.Failures) == 0
	return res, nil
}

// WriteTable prints the result for a person.
func (r *FailoverResult) WriteTable(w io.Writer) {
	p := r.Report
	fmt.Fprintf(w, "confab bench failover — %s\n", r.Command)
	fmt.Fprintf(w, "  date            %s\n", r.Date)
	fmt.Fprintf(w, "  machine         %d CPUs, %s RAM, %s, load %s → %s\n", r.Machine.NProc, gib(r.Machine.MemBytes), r.Machine.GoVersion, r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(w, "  cluster         %d nodes on PostgreSQL, lease %v, %d chats (push customers, agent sockets)\n", p.Nodes, r.Lease, p.Chats)
	if r.Mode == "kill" {
		fmt.Fprintf(w, "  killed          node %d (SIGKILL): %d of its chats\n", r.Killed, p.Affected)
		fmt.Fprintf(w, "  answering again customer p50 %.0f ms, p99 %.0f ms, max %.0f ms after the kill\n", p.Answer.P50, p.Answer.P99, p.Answer.Max)
		fmt.Fprintf(w, "                  agent    p50 %.0f ms, p99 %.0f ms, max %.0f ms (joined again on the survivor)\n", p.AgentBack.P50, p.AgentBack.P99, p.AgentBack.Max)
		fmt.Fprintf(w, "  every chat back %v after the kill; %d never answered\n", r.Recovered.Round(time.Millisecond), p.NotAnswered)
	} else {
		fmt.Fprintf(w, "  throughput      %.0f acknowledged messages/s over %.1f s\n", r.PerSecond, r.Seconds)
	}
	fmt.Fprintf(w, "  acknowledged    %d (ack p50 %.1f ms, p99 %.1f ms, max %.1f ms); %d sends not acknowledged\n", p.Acked, p.AckMs.P50, p.AckMs.P99, p.AckMs.Max, p.Failed)
	fmt.Fprintf(w, "  lost            %d in transcripts, %d on push\n", p.Lost, p.PushLost)
	fmt.Fprintf(w, "  duplicates      %d in transcripts, %d on push\n", p.Duplicates, p.PushDuplicates)
	for i, pr := range p.Problems {
		if i == 10 {
			fmt.Fprintf(w, "  ... %d more problems\n", len(p.Problems)-10)
			break
		}
		fmt.Fprintf(w, "  problem         %s\n", pr)
	}
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL: " + strings.Join(r.Failures, "; ")
	}
	fmt.Fprintf(w, "  verdict         %s\n", verdict)
}

// failoverCommand is `confab bench failover [flags]`.
func failoverCommand(ctx context.Context, args []string, exe string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench failover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := FailoverOptions{Exe: exe, Log: &lockedWriter{w: stderr}}
	fs.StringVar(&o.DSN, "store-dsn", os.Getenv("CONFAB_BENCH_POSTGRES_DSN"), "the PostgreSQL `DSN` the nodes share (a schema is made for the run and dropped)")
	fs.StringVar(&o.Mode, "mode", "kill", "kill (SIGKILL one node, time the failover) or throughput (no kill, as fast as acknowledged)")
	fs.IntVar(&o.Nodes, "nodes", 3, "nodes in the cluster")
	fs.IntVar(&o.Chats, "sessions", 300, "chats, spread over the nodes")
	fs.IntVar(&o.AgentsPerNode, "agents-per-node", 5, "agent sockets per node")
	fs.DurationVar(&o.Lease, "lease", 2*time.Second, "the nodes' [cluster] lease (whole seconds)")
	fs.DurationVar(&o.Pace, "pace", time.Second, "kill mode: pause between one side's messages")
	fs.DurationVar(&o.Before, "before", 3*time.Second, "kill mode: how long the load runs before the kill")
	fs.IntVar(&o.After, "after", 2, "kill mode: acknowledged messages per side and chat after the kill")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "throughput mode: how long both sides send")
	fs.IntVar(&o.Kill, "kill", 0, "kill mode: the node to kill (0-based)")
	fs.BoolVar(&o.AgentsAnywhere, "agents-anywhere", true, "agents on sockets of every node (relayed to the owner; client/agent fails over); false: on the owner's node")
	jsonPath := fs.String("json", "", "write the result as JSON to this `file`")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return ErrUsage
	}
	res, err := RunFailover(ctx, o)
	if err != nil {
		return fmt.Errorf("bench failover: %w", err)
	}
	res.Command = "confab bench failover " + strings.Join(args, " ")
	res.WriteTable(stdout)
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if !res.Pass {
		return fmt.Errorf("bench failover FAILED: %s", strings.Join(res.Failures, "; "))
	}
	return nil
}
