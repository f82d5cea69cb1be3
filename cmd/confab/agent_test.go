package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store/sqlite"
)

func TestAgentCommand(t *testing.T) {
	dir := t.TempDir()
	// Flags go before the id.
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		full := append([]string{args[0], "--data-dir", dir}, args[1:]...)
		err := agentCmd(full, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := run("add", "--name", "Alice A.", "--type", "supervisor", "alice")
	if err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	i := strings.Index(out, "token (shown once, keep it secret): ")
	if i < 0 {
		t.Fatalf("add printed no token:\n%s", out)
	}
	token := strings.TrimSpace(out[i+len("token (shown once, keep it secret): "):])
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.GetAgentByTokenHash(ctx, agent.HashToken(token))
	st.Close(ctx)
	if err != nil || a.ID != "alice" || a.Name != "Alice A." || a.Type != "SUPERVISOR" {
		t.Fatalf("stored agent = %+v, %v", a, err)
	}
	if bytes.Contains([]byte(out), []byte("hash")) {
		t.Fatalf("add printed a hash:\n%s", out)
	}
	if out, err := run("list"); err != nil || !strings.Contains(out, "alice") || strings.Contains(out, token) {
		t.Fatalf("list = %q, %v", out, err)
	}
	for _, bad := range [][]string{{"add", "alice"}, {"add", "--type", "BOSS", "carl"}, {"remove", "nobody"}, {"frobnicate"}, {"add"}} {
		if _, err := run(bad...); err == nil {
			t.Fatalf("%v succeeded", bad)
		}
	}
	if _, err := run("add", "--type", "BOSS", "carl"); !errors.Is(err, errUsage) {
		t.Fatalf("bad type: %v, want a usage error", err)
	}
	if out, err := run("remove", "alice"); err != nil {
		t.Fatalf("remove: %v %s", err, out)
	}
	if out, _ := run("list"); strings.Contains(out, "alice") {
		t.Fatalf("removed agent still listed:\n%s", out)
	}
}
