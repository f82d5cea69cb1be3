package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/server"
	"github.com/confab/confab/internal/store"
)

const agentUsage = `usage:
  confab agent add [--data-dir DIR] [--name NAME] [--type AGENT|SUPERVISOR|BOT] [--queues Q1,Q2] [--capacity N] ID
  confab agent update [--data-dir DIR] [--name NAME] [--type T] [--queues Q1,Q2] [--capacity N] [--rotate-token] ID
  confab agent list [--data-dir DIR]
  confab agent remove [--data-dir DIR] ID

add (and update --rotate-token) prints the agent's token once; only its
hash is stored. --queues are the queues whose chats the agent is offered
(a supervisor's: the queues it may monitor); --capacity is how many chats
it handles at once (1 to 100, default 1). update changes only the flags
given.
`

// agentCmd manages the accounts of the agent protocol (people and bots) in
// the store of a data directory. It may run while the server runs.
func agentCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, agentUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("agent "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "confab-data", "`directory` of the server's store")
	storeDSN := fs.String("store-dsn", "", "PostgreSQL connection `string` of the store (default: the SQLite store in --data-dir)")
	var (
		name, typ, queues *string
		capacity          *int
		rotate            *bool
	)
	switch args[0] {
	case "add", "update":
		def := "AGENT"
		if args[0] == "update" {
			def = ""
		}
		name = fs.String("name", "", "display `name` (default: the id)")
		typ = fs.String("type", def, "AGENT, SUPERVISOR (may also join as an agent) or BOT")
		queues = fs.String("queues", "", "comma-separated `queues` the agent serves")
		capacity = fs.Int("capacity", 0, "chats handled at once, 1 to 100 (default 1)")
		if args[0] == "update" {
			rotate = fs.Bool("rotate-token", false, "replace the token and print the new one")
		}
	case "list", "remove":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, agentUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "confab agent: unknown subcommand %q\n%s", args[0], agentUsage)
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	wantArgs := 1
	if args[0] == "list" {
		wantArgs = 0
	}
	if fs.NArg() != wantArgs {
		fmt.Fprint(stderr, agentUsage)
		return errUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, _, err := server.OpenStore(ctx, "", *storeDSN, *dataDir)
	if err != nil {
		return fmt.Errorf("open the store in %s: %w", *dataDir, err)
	}
	defer st.Close(context.Background())

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "data-dir" {
			set[f.Name] = true
		}
	})
	switch args[0] {
	case "add":
		a := store.Agent{ID: fs.Arg(0), Name: *name, Type: store.UserType(strings.ToUpper(*typ)), Queues: splitQueues(*queues), Capacity: *capacity}
		if set["capacity"] && *capacity == 0 {
			return fmt.Errorf("--capacity must be 1 to %d: %w", store.MaxCapacity, errUsage)
		}
		return agentAdd(ctx, st, a, stdout)
	case "update":
		return agentUpdate(ctx, st, fs.Arg(0), set, *name, *typ, *queues, *capacity, *rotate, stdout)
	case "list":
		return agentList(ctx, st, stdout)
	default:
		id := fs.Arg(0)
		if err := st.RemoveAgent(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no agent %q", id)
			}
			return fmt.Errorf("remove agent %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "agent %s removed; its token no longer opens new connections\n", id)
		return nil
	}
}

func agentAdd(ctx context.Context, st store.Agents, a store.Agent, stdout io.Writer) error {
	if err := checkType(a.Type); err != nil {
		return err
	}
	if strings.TrimSpace(a.ID) == "" {
		return fmt.Errorf("an agent id is required: %w", errUsage)
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	token := agent.NewToken()
	a.TokenHash = agent.HashToken(token)
	err := st.AddAgent(ctx, a)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("agent %q already exists", a.ID)
	}
	if errors.Is(err, store.ErrInvalid) {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if err != nil {
		return fmt.Errorf("add agent %s: %w", a.ID, err)
	}
	a, err = st.GetAgent(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("read agent %s back: %w", a.ID, err)
	}
	fmt.Fprintf(stdout, "agent %s (%s, %s, queues %s, capacity %d) added.\ntoken (shown once, keep it secret): %s\n",
		a.ID, a.Name, a.Type, queueList(a.Queues), a.Capacity, token)
	return nil
}

func agentUpdate(ctx context.Context, st store.Agents, id string, set map[string]bool, name, typ, queues string, capacity int, rotate bool, stdout io.Writer) error {
	a, err := st.GetAgent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no agent %q", id)
	}
	if err != nil {
		return fmt.Errorf("read agent %s: %w", id, err)
	}
	if len(set) == 0 {
		return fmt.Errorf("update %s: give at least one of --name, --type, --queues, --capacity, --rotate-token: %w", id, errUsage)
	}
	if set["name"] {
		a.Name = name
	}
	if set["type"] {
		a.Type = store.UserType(strings.ToUpper(typ))
		if err := checkType(a.Type); err != nil {
			return err
		}
	}
	if set["queues"] {
		a.Queues = splitQueues(queues)
	}
	if set["capacity"] {
		if capacity < 1 || capacity > store.MaxCapacity {
			return fmt.Errorf("--capacity must be 1 to %d: %w", store.MaxCapacity, errUsage)
		}
		a.Capacity = capacity
	}
	a.TokenHash = nil
	var token string
	if rotate {
		token = agent.NewToken()
		a.TokenHash = agent.HashToken(token)
	}
	if err := st.UpdateAgent(ctx, a); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return fmt.Errorf("%v: %w", err, errUsage)
		}
		return fmt.Errorf("update agent %s: %w", id, err)
	}
	fmt.Fprintf(stdout, "agent %s (%s, %s, queues %s, capacity %d) updated; connected desks pick up the change when they reconnect.\n",
		a.ID, a.Name, a.Type, queueList(a.Queues), a.Capacity)
	if token != "" {
		fmt.Fprintf(stdout, "new token (shown once, keep it secret): %s\n", token)
	}
	return nil
}

func checkType(t store.UserType) error {
	switch t {
	case store.UserAgent, store.UserSupervisor, store.UserBot:
		return nil
	}
	return fmt.Errorf("--type %q: must be AGENT, SUPERVISOR or BOT: %w", t, errUsage)
}

func splitQueues(s string) []string {
	var out []string
	for _, q := range strings.Split(s, ",") {
		if q = strings.TrimSpace(q); q != "" {
			out = append(out, q)
		}
	}
	return out
}

func queueList(qs []string) string {
	if len(qs) == 0 {
		return "none"
	}
	return strings.Join(qs, ",")
}

func agentList(ctx context.Context, st store.Agents, stdout io.Writer) error {
	list, err := st.ListAgents(ctx)
	if err != nil {
		return fmt.Errorf("list agents: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tQUEUES\tCAPACITY\tCREATED")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.Name, a.Type, queueList(a.Queues), a.Capacity, a.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
