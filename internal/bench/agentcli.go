package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	agentapi "github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// seedAgents creates n agent accounts in the embedded store of dataDir and
// returns their tokens. It runs before the server starts (one process at a
// time may use a data directory), the way `confab agent add` does; tokens
// are stored hashed exactly as the agent protocol checks them.
func seedAgents(ctx context.Context, dataDir string, n int) ([]string, error) {
	st, err := sqlite.Open(ctx, dataDir, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("create agents: open store: %w", err)
	}
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // concurrent adds share the writer's commits
	for i := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tokens[i] = agentapi.NewToken()
			id := "bench-agent-" + strconv.Itoa(i+1)
			errs[i] = st.AddAgent(ctx, store.Agent{ID: id, Name: id, TokenHash: agentapi.HashToken(tokens[i]), Type: store.UserAgent})
		}()
	}
	wg.Wait()
	err = errors.Join(errs...)
	if cerr := st.Close(ctx); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("create agents: %w", err)
	}
	return tokens, nil
}
