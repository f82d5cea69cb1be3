package server

import (
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/api/responses"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/validate"
)

// buildResponses mounts the standard responses (canned replies) at
// /agent/v1/responses on the agent listener: agents read them with their
// token, supervisors and the admin token change them. Texts are bounded
// as a message's are (0.45 of the live xml-request-max-size).
func (s *Server) buildResponses(p *parts) error {
	limits := func() validate.Limits { return validate.LimitsFor(s.cfg.Load().Settings.XMLRequestMaxSize) }
	p.add(config.PortAgent, responses.New(responses.Options{
		Store: p.store, HashToken: agent.HashToken, AdminToken: p.adminToken,
		MaxText:       func() int { return limits().Text },
		MaxAttributes: func() int { return limits().KV },
		Log:           s.log.With("adapter", "responses"),
	}), nil)
	return nil
}
