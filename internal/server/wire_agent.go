package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/confab/confab/internal/api/admin"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/api/esp"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/routing"
)

// buildAgent builds routing (a journal of the engine), the agent protocol
// and the admin API on the agent listener, and the workflow (ESP) API on
// the esp listener. At shutdown the agent sockets close first (their
// parties leave), then the admin streams end and routing writes what is
// left to the store.
func (s *Server) buildAgent(p *parts) error {
	adminToken, err := s.apiToken(p, "admin", func(c *config.Config) string { return c.Admin.Token })
	if err != nil {
		return err
	}
	p.adminToken = adminToken
	espToken, err := s.apiToken(p, "esp", func(c *config.Config) string { return c.ESP.Token })
	if err != nil {
		return err
	}
	router := routing.New(routing.Options{
		Engine:   s.engine,
		Store:    p.store,
		StopMode: func() config.StopMode { return s.cfg.Load().Settings.StopAbandonedInteraction },
		Clock:    s.clock,
		Log:      s.log.With("adapter", "routing"),

		OfferTimeout:     func() time.Duration { return s.cfg.Load().Routing.OfferTimeout },
		LastAgentTimeout: func() time.Duration { return s.cfg.Load().Routing.LastAgentTimeout },
		BotFirst:         func(q string) bool { return s.cfg.Load().BotFirst(q) },
		LastAgent:        routing.StoreLastAgent(p.store),
		LastAgentOf:      routing.StoreLastAgentOf(p.store), // new sessions: from the contact the history tells
		// The cluster's fencing of interaction updates (wire_cluster.go).
		Epoch: p.ha.epochOf, Fenced: p.ha.fenced, Located: p.ha.located,
		// The history's OnContact and OnClosed (parts.go) tell routing
		// what it would otherwise read each record for.
		HistoryTells: true,
	})
	p.addJournal(router)
	p.router = router
	maxFrame := func() int { return s.cfg.Load().Settings.XMLRequestMaxSize }

	agents := agent.New(agent.Options{
		Engine: s.engine, Router: router, Agents: p.store, MaxFrame: maxFrame, Files: s.fileParts(p).docs,
		OriginPatterns: corsPolicy(s.cfg.Load()).Patterns(),
		History:        p.store, KnownQueue: s.knownQueue(p, router),
		Log: s.log.With("adapter", "agent"), Clock: s.clock,
		// The node's counters (wire_ops.go).
		Connected: s.agentConnected, SlowConsumer: s.ops.counters.SlowConsumers[1].Inc, Frame: s.agentFrame,
	})
	p.agents = agents
	p.add(config.PortAgent, agents, agents.Shutdown)
	p.ownedDropped = append(p.ownedDropped, agents.DroppedKeys)
	adm := admin.New(admin.Options{Router: router, Token: adminToken, Log: s.log.With("adapter", "admin"),
		Agents: p.store, NewToken: func() (string, []byte) {
			tok := agent.NewToken()
			return tok, agent.HashToken(tok)
		}})
	p.add(config.PortAgent, adm, adm.FlushOnShutdown())
	p.add(config.PortESP, esp.New(esp.Options{
		Engine: s.engine, Router: router, Token: espToken, MaxBody: maxFrame, Clock: s.clock,
		Log: s.log.With("adapter", "esp"),
	}), nil)
	return nil
}

// knownQueue reports whether a queue exists for transfers and
// invitations: an endpoint's queue, a [routing:<queue>] section, a queue
// routing has seen, or a queue of an agent account.
func (s *Server) knownQueue(p *parts, router *routing.Router) func(string) bool {
	return func(name string) bool {
		c := s.cfg.Load()
		for _, eps := range c.Endpoints {
			for _, q := range eps {
				if q == name {
					return true
				}
			}
		}
		if _, ok := c.RoutingQueues[name]; ok {
			return true
		}
		for _, q := range router.Queues() {
			if q.Name == name {
				return true
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := p.store.ListAgents(ctx)
		if err != nil {
			return false
		}
		for _, a := range list {
			if slices.Contains(a.Queues, name) {
				return true
			}
		}
		return false
	}
}

// apiToken returns the live token of an API: the configured one, or else
// one generated at the first start and kept in <data dir>/<name>.token
// (mode 0600). A newly generated token is printed once to the operator
// output; later starts only say where it is kept.
func (s *Server) apiToken(p *parts, name string, configured func(*config.Config) string) (func() string, error) {
	live := func() string { return configured(s.cfg.Load()) }
	if live() != "" {
		return live, nil
	}
	path := filepath.Join(s.dataDir, name+".token")
	tok, created, err := loadOrCreateToken(path)
	if err != nil {
		return nil, fmt.Errorf("%s token: %w", name, err)
	}
	if created {
		p.say("%s token (generated, shown once, kept in %s): %s", name, path, tok)
	} else {
		p.say("%s token: generated earlier, kept in %s", name, path)
	}
	return func() string {
		if t := live(); t != "" {
			return t
		}
		return tok
	}, nil
}

func loadOrCreateToken(path string) (tok string, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(data)) != "" {
		return strings.TrimSpace(string(data)), false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	var b [32]byte
	rand.Read(b[:])
	tok = base64.RawURLEncoding.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.WriteString(tok + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	return tok, true, nil
}
