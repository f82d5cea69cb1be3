package masking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/pii"
	"github.com/confab/confab/internal/store"
)

// Options configure a Manager.
type Options struct {
	Rules store.PIIRules
	// Install puts a new policy in force (the engine's SetMasking).
	Install func(*pii.Policy)
	// Timeout bounds one rule's search of one text; 0: pii.DefaultTimeout.
	Timeout time.Duration
	Log     *slog.Logger
}

// Manager builds and installs the masking policy.
type Manager struct {
	opts     Options
	timeouts atomic.Uint64

	mu     sync.Mutex // guards the following
	cfg    config.Cleanup
	active *pii.Policy
}

// New returns a Manager; nothing is installed until Apply.
func New(opts Options) *Manager {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Install == nil {
		opts.Install = func(*pii.Policy) {}
	}
	return &Manager{opts: opts, cfg: config.Default().Cleanup}
}

// ErrInvalid marks a rule or option refused; the error names what.
var ErrInvalid = errors.New("masking: invalid")

// FromStore converts stored rules.
func FromStore(rows []store.PIIRule) []pii.Rule {
	out := make([]pii.Rule, len(rows))
	for i, r := range rows {
		out[i] = pii.Rule{ID: r.ID, Name: r.Name, Description: r.Description, Pattern: r.Pattern, Spec: r.Spec, MinDigitRun: r.MinDigitRun}
	}
	return out
}

// Build compiles the policy the options and the stored rules describe.
// onTimeout (may be nil) is called for every rule search that timed out.
func Build(cfg config.Cleanup, stored []pii.Rule, timeout time.Duration, onTimeout func(pii.Rule, error)) (*pii.Policy, error) {
	area, err := pii.ParseArea(cfg.ApplyArea)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	src, err := pii.ParseConfig(cfg.ApplyConfig)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	typing, err := pii.ParseTyping(cfg.TypingPreview)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	subject, err := pii.ParseSubject(cfg.CleanSubject)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	spec, err := pii.ParseSpec(cfg.DefaultSpec)
	if err != nil {
		return nil, fmt.Errorf("%w: default-spec: %v", ErrInvalid, err)
	}
	rep := cfg.DefaultRepChar
	if rep == 0 {
		rep = '*'
	}
	p := &pii.Policy{Area: area, Typing: typing, Subject: subject, RepChar: rep,
		UnmaskLive: cfg.UnmaskLiveDialog, AllowBotUnmask: cfg.AllowBotUnmask}
	if rules := src.Select(stored); len(rules) > 0 {
		set, err := pii.Compile(rules, pii.Options{DefaultSpec: spec, RepChar: rep, Timeout: timeout, OnTimeout: onTimeout})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		p.Rules = set
	}
	return p, nil
}

// Apply rebuilds the policy from cfg and the stored rules and installs it.
// If the rules do not compile the error names the rule and position; the
// policy in force stays (at the first Apply, the built-in rules are
// installed instead, so a bad stored rule never turns masking off).
func (m *Manager) Apply(ctx context.Context, cfg config.Cleanup) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applyLocked(ctx, cfg)
}

func (m *Manager) applyLocked(ctx context.Context, cfg config.Cleanup) error {
	rows, err := m.opts.Rules.ListPIIRules(ctx)
	if err != nil {
		return fmt.Errorf("masking: read rules: %w", err)
	}
	p, err := Build(cfg, FromStore(rows), m.opts.Timeout, m.timedOut)
	if err != nil {
		if m.active == nil {
			fallback := cfg
			fallback.ApplyConfig = "cfg"
			if fp, ferr := Build(fallback, nil, m.opts.Timeout, m.timedOut); ferr == nil {
				m.cfg, m.active = cfg, fp
				m.opts.Install(fp)
				m.opts.Log.Error("masking: stored rules refused, using the built-in rules", "err", err)
				return err
			}
		}
		m.opts.Log.Error("masking: rules refused, keeping the last good set", "err", err)
		return err
	}
	m.cfg, m.active = cfg, p
	m.opts.Install(p)
	return nil
}

func (m *Manager) timedOut(r pii.Rule, err error) {
	m.timeouts.Add(1)
	// err never carries the text (pii.ErrTimeout).
	m.opts.Log.Warn("masking: rule search timed out; the text was not masked by this rule", "rule", r.ID, "name", r.Name, "err", err)
}

// Timeouts returns how many rule searches timed out since the start.
func (m *Manager) Timeouts() uint64 { return m.timeouts.Load() }

// Policy returns the policy in force (nil before the first Apply).
func (m *Manager) Policy() *pii.Policy {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active
}

// Stored returns the operator's rules in order.
func (m *Manager) Stored(ctx context.Context) ([]pii.Rule, error) {
	rows, err := m.opts.Rules.ListPIIRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("masking: read rules: %w", err)
	}
	return FromStore(rows), nil
}

// Check compiles stored followed by r, as Add would, and returns why it is
// refused (a *pii.RuleError naming the rule and position) or nil.
func Check(stored []pii.Rule, r pii.Rule) error {
	_, err := pii.Compile(append(append([]pii.Rule(nil), stored...), r), pii.Options{DefaultSpec: pii.Spec{Digits: true}})
	return err
}

// Add stores a new rule after the others, once the whole set compiles, and
// installs the new policy. store.ErrExists if the id is taken.
func (m *Manager) Add(ctx context.Context, r pii.Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, err := m.Stored(ctx)
	if err != nil {
		return err
	}
	for _, s := range stored {
		if s.ID == r.ID {
			return fmt.Errorf("masking: rule id %q: %w", r.ID, store.ErrExists)
		}
	}
	if err := Check(stored, r); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := m.opts.Rules.AddPIIRule(ctx, store.PIIRule{ID: r.ID, Name: r.Name, Description: r.Description,
		Pattern: r.Pattern, Spec: r.Spec, MinDigitRun: r.MinDigitRun}); err != nil {
		return fmt.Errorf("masking: store rule %s: %w", r.ID, err)
	}
	return m.applyLocked(ctx, m.cfg)
}

// Remove deletes a stored rule and installs the new policy.
// store.ErrNotFound if there is none.
func (m *Manager) Remove(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opts.Rules.RemovePIIRule(ctx, id); err != nil {
		return fmt.Errorf("masking: remove rule %s: %w", id, err)
	}
	return m.applyLocked(ctx, m.cfg)
}

// Test masks text with the rules in force, as a message would be masked.
func (m *Manager) Test(text string) (masked string, hits []pii.Hit) {
	p := m.Policy()
	if p == nil || p.Rules == nil {
		return text, nil
	}
	masked, hits, _ = p.Rules.Mask(text)
	return masked, hits
}
