package server

import (
	"errors"

	"github.com/confab/confab/internal/api/cometd"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/cors"
)

// buildCometD mounts the CometD (Bayeux) form of the customer Chat API at
// /genesys/cometd, and /genesys/2/chat-ntf, on the webapi listener, on the
// Chat API that buildWebAPI built. Its Shutdown runs before the store
// closes and answers the held connects.
func (s *Server) buildCometD(p *parts) error {
	if p.customer == nil {
		return errors.New("cometd: the customer Chat API must be built first")
	}
	srv := cometd.New(cometd.Options{
		API:     p.customer,
		Clock:   s.clock,
		Log:     s.log.With("adapter", "cometd"),
		CORS:    corsPolicy(s.cfg.Load()),
		MaxBody: func() int { return 2 * s.cfg.Load().Settings.XMLRequestMaxSize },
		// In a cluster (wire_cluster.go): chats follow their Bayeux clients.
		Locate:       p.ha.cometdLocate(s),
		ChatOfKey:    p.ha.cometdChatOfKey(), // key-only publishes (wire_clusterkeys.go)
		ForwardFiles: p.ha.cometdForwardFiles(s),
		Draining:     p.ha.draining,
		HandingOver:  p.ha.handing,
	})
	p.ha.bayeux = srv
	p.add(config.PortWebAPI, srv, srv.Shutdown)
	return nil
}

// corsPolicy is the [cors] policy of c: the customer endpoints and the
// agent socket read their allowed origins from it.
func corsPolicy(c *config.Config) *cors.Policy {
	entries, err := cors.Split(c.CORS.AllowedOrigins)
	if err != nil { // config has checked the syntax; keep the safe default
		return cors.New(nil)
	}
	return cors.New(entries)
}
