package server

import (
	"github.com/confab/confab/internal/api/storestats"
	"github.com/confab/confab/internal/config"
)

// buildStoreStats serves GET /debug/store on the health listener (next to
// /Counters and /metrics, without a token like them): the store's commit
// path counters and the GC pauses that `confab bench` samples for its
// latency timeline. It carries no chat content.
func (s *Server) buildStoreStats(p *parts) error {
	p.add(config.PortHealth, storestats.New(p.store), nil)
	return nil
}
