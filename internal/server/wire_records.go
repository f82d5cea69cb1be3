package server

import (
	"github.com/confab/confab/internal/api/records"
	"github.com/confab/confab/internal/config"
)

// buildRecords serves the history API (interaction records, contacts and
// their interactions) on the agent listener, next to the admin API and
// behind the same token.
func (s *Server) buildRecords(p *parts) error {
	p.add(config.PortAgent, records.New(records.Options{
		Store: p.store, Token: p.adminToken, Log: s.log.With("adapter", "records"),
	}), nil)
	return nil
}
