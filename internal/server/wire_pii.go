package server

import (
	"context"

	"github.com/confab/confab/internal/api/piiapi"
	"github.com/confab/confab/internal/chatlog"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/logattr"
	"github.com/confab/confab/internal/masking"
)

// buildMasking installs sensitive-data masking ([transcript-cleanup] and
// the stored rules) on the engine, re-applied on every configuration
// reload; mounts the masking-rule API on the agent listener; and adds the
// message log (debug level, filtered by [settings] message-log-print-size,
// hide-attached-data and [log-filter-data]) as a journal.
func (s *Server) buildMasking(p *parts) error {
	p.addJournal(chatlog.New(s.log.With("adapter", "chat"), p.logFilter))
	m := masking.New(masking.Options{Rules: p.store, Install: s.engine.SetMasking, Log: s.log.With("adapter", "masking")})
	// A refused rule set is logged and the built-in rules apply; start
	// goes on.
	_ = m.Apply(context.Background(), s.cfg.Load().Cleanup)
	p.onReload(func(cfg *config.Config) {
		p.logFilter.Set(logPolicy(cfg))
		_ = m.Apply(context.Background(), cfg.Cleanup) // refused: logged, last good set kept
	})
	p.masking = m
	if s.ops.counters != nil {
		s.ops.counters.Gauge("pii_rule_timeouts", "confab_pii_rule_timeouts",
			"Masking rule searches that timed out; the text was left unmasked by that rule.",
			func() int64 { return int64(m.Timeouts()) })
	}
	p.add(config.PortAgent, piiapi.New(piiapi.Options{Manager: m, Token: p.adminToken}), nil)
	return nil
}

// logPolicy maps the log-hygiene options onto the log-attribute filter.
func logPolicy(cfg *config.Config) logattr.Policy {
	def, err := logattr.ParseFilterType(string(cfg.LogFilter.DefaultFilterType))
	if err != nil {
		def = logattr.FilterType{Kind: logattr.Hide}
	}
	keys := map[string]logattr.FilterType{}
	for k, v := range cfg.LogFilter.Keys {
		if ft, err := logattr.ParseFilterType(string(v)); err == nil {
			keys[k] = ft
		} else {
			keys[k] = logattr.FilterType{Kind: logattr.Hide}
		}
	}
	return logattr.Policy{
		PrintSize: cfg.Settings.MessageLogPrintSize, HideData: cfg.Settings.HideAttachedData,
		Default: def, Keys: keys, StringMax: cfg.LogFilter.StringMaxPrintSize,
	}
}
