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
  confab agent add [--data-dir DIR] [--name NAME] [--type AGENT|SUPERVISOR] ID
  confab agent list [--data-dir DIR]
  confab agent remove [--data-dir DIR] ID

add prints the new agent's token once; only its hash is stored.
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
	var name, typ *string
	switch args[0] {
	case "add":
		name = fs.String("name", "", "display `name` (default: the id)")
		typ = fs.String("type", "AGENT", "AGENT or SUPERVISOR (a supervisor may also join as an agent)")
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

	switch args[0] {
	case "add":
		return agentAdd(ctx, st, fs.Arg(0), *name, *typ, stdout)
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

func agentAdd(ctx context.Context, st store.Agents, id, name, typ string, stdout io.Writer) error {
	t := store.UserType(strings.ToUpper(typ))
	if t != store.UserAgent && t != store.UserSupervisor {
		return fmt.Errorf("--type %q: must be AGENT or SUPERVISOR: %w", typ, errUsage)
	}
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("an agent id is required: %w", errUsage)
	}
	if name == "" {
		name = id
	}
	token := agent.NewToken()
	err := st.AddAgent(ctx, store.Agent{ID: id, Name: name, TokenHash: agent.HashToken(token), Type: t})
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("agent %q already exists", id)
	}
	if err != nil {
		return fmt.Errorf("add agent %s: %w", id, err)
	}
	fmt.Fprintf(stdout, "agent %s (%s, %s) added.\ntoken (shown once, keep it secret): %s\n", id, name, t, token)
	return nil
}

func agentList(ctx context.Context, st store.Agents, stdout io.Writer) error {
	list, err := st.ListAgents(ctx)
	if err != nil {
		return fmt.Errorf("list agents: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tCREATED")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Type, a.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
