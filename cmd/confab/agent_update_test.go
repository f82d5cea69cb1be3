package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func TestAgentRoutingAttributes(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		full := append([]string{args[0], "--data-dir", dir}, args[1:]...)
		err := agentCmd(full, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	stored := func(id string) store.Agent {
		t.Helper()
		ctx := context.Background()
		st, err := sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx)
		a, err := st.GetAgent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if out, err := run("add", "--type", "bot", "--queues", "triage, sales", "--capacity", "20", "helper"); err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if a := stored("helper"); a.Type != store.UserBot || strings.Join(a.Queues, ",") != "triage,sales" || a.Capacity != 20 {
		t.Fatalf("stored %+v", a)
	}
	if out, err := run("add", "amy"); err != nil || !strings.Contains(out, "capacity 1") {
		t.Fatalf("add with defaults: %v\n%s", err, out)
	}
	if out, err := run("update", "--queues", "sales", "--capacity", "3", "amy"); err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	a := stored("amy")
	if a.Type != store.UserAgent || strings.Join(a.Queues, ",") != "sales" || a.Capacity != 3 || a.Name != "amy" {
		t.Fatalf("after update %+v", a)
	}
	out, err := run("update", "--rotate-token", "amy")
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	i := strings.Index(out, "new token (shown once, keep it secret): ")
	if i < 0 {
		t.Fatalf("no new token:\n%s", out)
	}
	tok := strings.TrimSpace(out[i+len("new token (shown once, keep it secret): "):])
	if b := stored("amy"); !bytes.Equal(b.TokenHash, agent.HashToken(tok)) || b.Capacity != 3 {
		t.Fatalf("after rotation %+v", b)
	}
	if out, err := run("list"); err != nil || !strings.Contains(out, "triage,sales") || !strings.Contains(out, "CAPACITY") {
		t.Fatalf("list:\n%s", out)
	}
	for _, bad := range [][]string{
		{"update", "nobody", "--capacity", "2"}, {"update", "amy"}, {"update", "--capacity", "0", "amy"},
		{"update", "--capacity", "101", "amy"}, {"update", "--type", "CLIENT", "amy"}, {"add", "--capacity", "0", "x"},
		{"add", "--capacity", "500", "x"}, {"add", "--queues", "a\x00b", "y"},
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%q succeeded", bad)
		}
	}
	if _, err := run("update", "--capacity", "0", "amy"); !errors.Is(err, errUsage) {
		t.Fatalf("bad capacity: %v, want a usage error", err)
	}
	if a := stored("amy"); a.Capacity != 3 {
		t.Fatalf("a refused update changed the account: %+v", a)
	}
}
