package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store"
)

// DemoAccount is an account a first run created, with its token (shown
// once: only its hash is stored).
type DemoAccount struct {
	ID, Name string
	Type     store.UserType
	Token    string
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
// has no account at all, and returns them with their new tokens; with any
// account present it does nothing and returns none. The caller must only
// call it for a loopback listener (see Loopback).
func EnsureDemo(ctx context.Context, st store.Agents) ([]DemoAccount, error) {
	have, err := st.ListAgents(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo accounts: list agents: %w", err)
	}
	if len(have) > 0 {
		return nil, nil
	}
	accounts := demoAccounts()
	for i := range accounts {
		var b [24]byte
		rand.Read(b[:])
		accounts[i].Token = base64.RawURLEncoding.EncodeToString(b[:])
		a := accounts[i]
		if err := st.AddAgent(ctx, store.Agent{ID: a.ID, Name: a.Name, Type: a.Type, TokenHash: agent.HashToken(a.Token),
			Queues: a.Queues, Capacity: a.Capacity}); err != nil {
			return nil, fmt.Errorf("demo accounts: add %s: %w", a.ID, err)
		}
	}
	return accounts, nil
}
