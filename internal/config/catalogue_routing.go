package config

import (
	"strings"
	"time"
)

// Routing holds Confab's own [routing] section: how the built-in router
// offers interactions to agents.
type Routing struct {
	// OfferTimeout is how long an agent has to accept or reject an offer
	// before it goes to the next agent and the agent becomes not-ready.
	OfferTimeout time.Duration
	// LastAgentTimeout is how long an interaction is kept for the agent
	// who last handled the contact (or held the async chat) before any
	// agent of the queue may get it; 0 switches the preference off.
	LastAgentTimeout time.Duration
}

// RoutingQueue holds one [routing:<queue>] section.
type RoutingQueue struct {
	// BotFirst offers the queue's interactions to its bots before its
	// human agents.
	BotFirst bool
}

// BotFirst reports whether [routing:<queue>] bot-first is on for queue.
func (c *Config) BotFirst(queue string) bool { return c.RoutingQueues[queue].BotFirst }

func routingSection() *sectionSpec {
	return &sectionSpec{name: "routing", opts: []*desc{
		{Option: Option{Name: "offer-timeout", Default: "15", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Immediate, Implemented: true,
			Doc: "Confab extension: how long an agent may leave an offer (a queued chat, a transfer or an invitation) unanswered; then it goes to the next agent and the agent becomes not-ready."},
			bind: field(func(c *Config) *time.Duration { return &c.Routing.OfferTimeout })},
		{Option: Option{Name: "last-agent-timeout", Default: "20", Kind: KindSeconds, Min: 0, Max: 86400, Effect: Immediate, Implemented: true,
			Doc: "Confab extension: how long a chat from a returning contact (or an async chat woken from a workbin) waits for the agent who last handled it, while that agent is ready with free capacity, before any agent of the queue may get it; 0 switches the preference off."},
			bind: field(func(c *Config) *time.Duration { return &c.Routing.LastAgentTimeout })},
	}}
}

func routingQueueSection() *sectionSpec {
	return &sectionSpec{
		name: "routing:", family: true, display: "routing:<queue>",
		argDesc: "a queue name after \"routing:\"",
		canonArg: func(arg string) (string, bool) {
			return arg, arg != "" && strings.TrimSpace(arg) == arg
		},
		opts: []*desc{
			{Option: Option{Name: "bot-first", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Confab extension: offer this queue's chats to its bot accounts before its human agents; a bot hands a chat over with transfer."},
				bind: binding{
					get: func(c *Config, arg, _ string) (any, bool) {
						q, ok := c.RoutingQueues[arg]
						return q.BotFirst, ok
					},
					set: func(c *Config, arg, _ string, v any) {
						q := c.RoutingQueues[arg]
						q.BotFirst = v.(bool)
						c.RoutingQueues[arg] = q
					},
					del: func(c *Config, arg, _ string) {
						if q, ok := c.RoutingQueues[arg]; ok {
							q.BotFirst = false
							c.RoutingQueues[arg] = q
						}
					},
				}},
		},
		enter: func(c *Config, arg string, _ bool) {
			if _, ok := c.RoutingQueues[arg]; !ok {
				c.RoutingQueues[arg] = RoutingQueue{}
			}
		},
		args: func(c *Config) []string { return sortedKeys(c.RoutingQueues) },
	}
}
