package server

import (
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/config"
)

// buildWebAPI mounts the customer Chat API v2 on the webapi listener. It
// reads the live configuration per request, so reloads apply at once; its
// Shutdown closes the push connections before the store closes.
func (s *Server) buildWebAPI(p *parts) error {
	files := s.fileParts(p)
	api := webapi.New(webapi.Options{
		Engine: s.engine,
		Config: s.Config,
		Clock:  s.clock,
		Log:    s.log.With("adapter", "webapi"),
		CORS:   corsPolicy(s.cfg.Load()),
		// The node's counters (wire_ops.go).
		SlowConsumer: s.ops.counters.SlowConsumers[0].Inc,
		Files:        p.store,
		Refreshed:    files.push.Refreshed,
		AuthFailed:   s.customerAuthFailed,
		LocateKey:    p.ha.locateKey(s), // in a cluster (wire_clusterkeys.go)
	})
	p.customer = api
	p.ownedDropped = append(p.ownedDropped, api.DroppedKeys)
	files.bindWebAPI(api)
	p.add(config.PortWebAPI, api, api.Shutdown)
	return nil
}
