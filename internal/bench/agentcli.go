package bench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// createAgents creates n agent accounts in the data directory dataDir with
// `confab agent add` (exe is the confab binary; flags are added to each
// call) and returns their tokens.
// It runs before the server starts: one process at a time may use a data
// directory.
func createAgents(ctx context.Context, exe, dataDir string, n int, flags ...string) ([]string, error) {
	tokens := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		id := "bench-agent-" + strconv.Itoa(i)
		args := append(append([]string{"agent", "add", "--data-dir", dataDir}, flags...), id)
		cmd := exec.CommandContext(ctx, exe, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("confab agent add %s: %w: %s", id, err, strings.TrimSpace(errb.String()))
		}
		tok, err := parseAgentToken(out.String())
		if err != nil {
			return nil, fmt.Errorf("confab agent add %s: %w", id, err)
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}

// parseAgentToken finds the token in the output of `confab agent add`: the
// line "token (shown once, keep it secret): <token>".
func parseAgentToken(out string) (string, error) {
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "token") {
			continue
		}
		if i := strings.LastIndex(line, ": "); i >= 0 {
			if tok := strings.TrimSpace(line[i+2:]); tok != "" && !strings.ContainsAny(tok, " \t") {
				return tok, nil
			}
		}
	}
	return "", fmt.Errorf("no token line in its output %q", out)
}
