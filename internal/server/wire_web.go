package server

import (
	"context"
	"slices"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/web"
)

// buildWeb mounts the browser UI (internal/web) on the customer API's
// listener: the start page, the widget and its demo page, the agent desk.
// On a first run of a node whose customer and agent listeners are both on
// loopback, with Options.DemoAccounts set and no agent account in the
// store, it creates a demo agent and a demo supervisor and prints a
// one-time sign-in link for each (web.SignIns: the first use gives the
// account a new token and hands it to the desk; a second use gets a page
// saying the link was used).
func (s *Server) buildWeb(p *parts) error {
	cfg := s.cfg.Load()
	service := config.DefaultService
	if names := mapKeys(cfg.Services); len(names) > 0 {
		service = names[0]
	}
	p.add(config.PortWebAPI, web.New(web.Options{
		Service: service,
		Locate: func() web.Locations {
			var loc web.Locations
			self := s.Addr(config.PortWebAPI)
			if a := s.Addr(config.PortAgent); a != self {
				loc.Agent = a
			}
			if h := s.Addr(config.PortHealth); h != self {
				loc.Health = h
			}
			return loc
		},
		SignIns: web.NewSignIns(p.store),
	}), nil)
	var demo []web.DemoAccount
	if s.demoAccounts && web.Loopback(cfg.Ports[config.PortWebAPI]) && web.Loopback(cfg.Ports[config.PortAgent]) {
		var err error
		if demo, err = web.EnsureDemo(context.Background(), p.store); err != nil {
			return err
		}
	}
	p.sayAt(func(addrs map[string]string) []string {
		base := "http://" + addrs[config.PortWebAPI]
		lines := []string{
			"web     start page                     " + base + "/",
			"web     widget demo shop               " + base + "/widget/",
			"web     agent desk and console         " + base + "/desk/",
		}
		for _, a := range demo {
			lines = append(lines, "first run: "+string(a.Type)+" "+a.ID+" created; sign-in link (shown once): "+base+web.SignInPath(a.Code)+" (works once)")
		}
		return lines
	})
	return nil
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
