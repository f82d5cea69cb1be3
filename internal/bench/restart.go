package bench

import "context"

// KillRestart kills the server with SIGKILL (no chance to flush or close)
// and starts it again on the same data directory and configuration; the
// listen addresses change.
func (p *Process) KillRestart(ctx context.Context) error {
	p.kill()
	return p.launch(ctx)
}

// CreateAgents creates n agent accounts in a data directory that no server
// holds, with `confab agent add` (exe is the confab binary), and returns
// their tokens.
func CreateAgents(ctx context.Context, exe, dataDir string, n int) ([]string, error) {
	return createAgents(ctx, exe, dataDir, n)
}
