package web

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store"
)

// DemoAccount is an account a first run created, with the code of its
// one-time sign-in link (shown once: only its hash is stored, and the
// link works once, see SignIns).
type DemoAccount struct {
	ID, Name string
	Type     store.UserType
	Code     string
	// Queues and Capacity are the routing attributes: the built-in queue,
	// so the supervisor may monitor its chats.
	Queues   []string
	Capacity int
}

// demoAccounts are the accounts of a first run.
func demoAccounts() []DemoAccount {
	return []DemoAccount{
		{ID: "demo-agent", Name: "Alex (demo agent)", Type: store.UserAgent, Queues: []string{"default"}, Capacity: 3},
		{ID: "demo-supervisor", Name: "Sam (demo supervisor)", Type: store.UserSupervisor, Queues: []string{"default"}, Capacity: 1},
	}
}

// Loopback reports whether addr (host:port) listens on a loopback address
// only. "localhost" counts; an empty host (every interface) does not.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// EnsureDemo creates the demo agent and the demo supervisor when the store
// has no account at all, and returns them with the codes of their one-time
// sign-in links (SignInPath); with any account present it does nothing and
// returns none. The accounts' stored tokens are never shown: the first use
// of a link gives its account a new one. The caller must only call it for
// a loopback listener (see Loopback).
func EnsureDemo(ctx context.Context, st AccountStore) ([]DemoAccount, error) {
	have, err := st.ListAgents(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo accounts: list agents: %w", err)
	}
	if len(have) > 0 {
		return nil, nil
	}
	accounts := demoAccounts()
	for i := range accounts {
		accounts[i].Code = newSecret()
		a := accounts[i]
		// The code first: an account without a working link would lock the
		// first run out (a second start sees accounts and makes no new ones).
		if err := st.PutSetting(ctx, signInKey(a.Code), a.ID); err != nil {
			return nil, fmt.Errorf("demo accounts: sign-in link of %s: %w", a.ID, err)
		}
		if err := st.AddAgent(ctx, store.Agent{ID: a.ID, Name: a.Name, Type: a.Type, TokenHash: agent.HashToken(newSecret()),
			Queues: a.Queues, Capacity: a.Capacity}); err != nil {
			return nil, fmt.Errorf("demo accounts: add %s: %w", a.ID, err)
		}
	}
	return accounts, nil
}

// SignInPath is the path of the one-time sign-in link with code, on the
// customer listener where the desk is served.
func SignInPath(code string) string { return "/desk/signin/" + code }
