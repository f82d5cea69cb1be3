package kpi

import (
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
)

// Kind says how a counter behaves.
type Kind uint8

// Counter kinds.
const (
	// Cumulative counters only grow, from start or the last reset.
	Cumulative Kind = iota
	// Current counters (gauges) are a present value; a reset does not touch them.
	Current
)

func (k Kind) String() string {
	if k == Current {
		return "current"
	}
	return "cumulative"
}

// Counter is one KPI figure. Its methods are safe for concurrent use.
type Counter struct {
	name string
	help string
	kind Kind
	prom string       // Prometheus metric name
	v    atomic.Int64 // raw value since start
	base atomic.Int64 // raw value at the last reset (Cumulative only)
	fn   func() int64 // computed current value, when set
	lbl  [2]string    // Prometheus label name and value, when set
}

// Name returns the counter's /Counters name.
func (c *Counter) Name() string { return c.name }

// Add adds n (which must be ≥ 0 for a Cumulative counter).
func (c *Counter) Add(n int64) { c.v.Add(n) }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Dec subtracts one (Current counters only).
func (c *Counter) Dec() { c.v.Add(-1) }

// Set stores a value (Current counters only).
func (c *Counter) Set(n int64) { c.v.Store(n) }

// Value returns the KPI value: for a cumulative counter, what was added
// since the last reset.
func (c *Counter) Value() int64 {
	if c.fn != nil && c.kind == Current {
		return c.fn()
	}
	if c.fn != nil {
		return c.fn() - c.base.Load()
	}
	return c.v.Load() - c.base.Load()
}

// raw returns the value since start (what Prometheus is given).
func (c *Counter) raw() int64 {
	if c.fn != nil {
		return c.fn()
	}
	return c.v.Load()
}

func (c *Counter) reset() {
	if c.kind == Cumulative {
		c.base.Store(c.raw())
	}
}

// Set is a node's counters, in a fixed order. Create it with New.
type Set struct {
	mu       sync.Mutex // guards the following
	counters []*Counter
	byName   map[string]*Counter

	// The counters every node has; the adapters and the store update them.
	SessionsCreated  *Counter
	SessionsClosed   *Counter
	SessionsRestored *Counter
	SessionsCurrent  *Counter
	FlexUsers        *Counter
	Joins            [partyKinds]*Counter
	Messages         [partyKinds]*Counter
	Notices          [partyKinds]*Counter
	TimeoutsFlex     *Counter
	TimeoutsIdle     *Counter
	LimitRefusals    [refusalKinds]*Counter
	LimitReached     *Counter
	Limited          *Counter
	AgentConnects    *Counter
	AgentDisconnects *Counter
	AgentsConnected  *Counter
	SlowConsumers    [2]*Counter // webapi, agent
	AuthFailures     *Counter
	StoreCommits     *Counter
	StoreWrites      *Counter
	StoreFailures    *Counter
	StoreCommitMs    *Counter
	ProcessMemory    *Counter

	requests requests
}

// New returns a Set holding every counter of a node, all zero.
func New() *Set {
	s := &Set{byName: map[string]*Counter{}}
	cum := func(name, prom, help string) *Counter { return s.add(name, prom, help, Cumulative) }
	s.SessionsCreated = cum("session_created", "confab_sessions_created_total", "Chat sessions created (restorations included).")
	s.SessionsClosed = cum("session_closed", "confab_sessions_closed_total", "Chat sessions closed.")
	s.SessionsRestored = cum("session_restored", "confab_sessions_restored_total", "Chat sessions restored on this node (high availability).")
	s.SessionsCurrent = s.add("session_current", "confab_sessions_active", "Chat sessions alive now.", Current)
	s.FlexUsers = s.add("flex_users_current", "confab_flex_users_active", "Customer (flex) participants present now.", Current)
	for k := PartyKind(0); k < partyKinds; k++ {
		s.Joins[k] = s.addLabelled("party_joined_"+k.String(), "confab_parties_joined_total", "party", k.String(), "Parties that joined a session, as "+k.String()+".")
	}
	for k := PartyKind(0); k < partyKinds; k++ {
		s.Messages[k] = s.addLabelled("message_"+k.String(), "confab_messages_total", "party", k.String(), "Messages sent by parties of type "+k.String()+".")
	}
	for k := PartyKind(0); k < partyKinds; k++ {
		s.Notices[k] = s.addLabelled("notice_"+k.String(), "confab_notices_total", "party", k.String(), "Notices sent by parties of type "+k.String()+".")
	}
	s.TimeoutsFlex = s.addLabelled("timeout_disconnect", "confab_timeouts_total", "kind", "disconnect", "Parties removed for protocol inactivity or a lost connection (reason 3).")
	s.TimeoutsIdle = s.addLabelled("timeout_inactivity", "confab_timeouts_total", "kind", "inactivity", "Parties removed because their session was idle (reason 7).")
	for k := RefusalKind(0); k < refusalKinds; k++ {
		s.LimitRefusals[k] = s.addLabelled("limit_refused_"+k.String(), "confab_limit_refusals_total", "what", k.String(), "Requests refused because a load limit was reached: "+refusalHelp[k]+".")
	}
	s.LimitReached = cum("limit_reached", "confab_limit_reached_total", "Times the node entered the limited state (a load limit was reached).")
	s.Limited = s.add("limit_active", "confab_limited", "1 while a load limit holds the node (new sessions and restorations refused), else 0.", Current)
	s.AgentConnects = cum("agent_connected", "confab_agent_connections_total", "Agent and bot WebSocket connections opened.")
	s.AgentDisconnects = cum("agent_disconnected", "confab_agent_disconnections_total", "Agent and bot WebSocket connections closed.")
	s.AgentsConnected = s.add("agent_connections_current", "confab_agent_connections_active", "Agent and bot WebSocket connections open now.", Current)
	s.SlowConsumers[0] = s.addLabelled("slow_consumer_webapi", "confab_slow_consumer_disconnects_total", "api", "webapi", "Customer push connections closed because they fell too far behind.")
	s.SlowConsumers[1] = s.addLabelled("slow_consumer_agent", "confab_slow_consumer_disconnects_total", "api", "agent", "Agent sockets closed because their send queue was full.")
	s.AuthFailures = cum("auth_failed", "confab_auth_failures_total", "Requests refused for missing or wrong credentials: agent, ESP and admin tokens, customer API keys that match no chat.")
	s.StoreCommits = cum("store_commit", "confab_store_commits_total", "Transactions committed by the store's group-commit writer.")
	s.StoreWrites = cum("store_write", "confab_store_writes_total", "Writes (events, records) committed by the store.")
	s.StoreFailures = cum("store_write_failed", "confab_store_write_failures_total", "Store writes that failed.")
	s.StoreCommitMs = cum("store_commit_time_ms", "confab_store_commit_milliseconds_total", "Time spent committing store transactions, in milliseconds.")
	s.ProcessMemory = s.add("process_memory", "confab_process_memory_bytes", "Memory the Go runtime holds from the system, in bytes (not cumulative).", Current)
	s.ProcessMemory.fn = processMemory
	s.requests.init(s)
	return s
}

func (s *Set) add(name, prom, help string, kind Kind) *Counter {
	c := &Counter{name: name, prom: prom, help: help, kind: kind}
	s.mu.Lock()
	s.counters = append(s.counters, c)
	s.byName[name] = c
	s.mu.Unlock()
	return c
}

func (s *Set) addLabelled(name, prom, label, value, help string) *Counter {
	c := s.add(name, prom, help, Cumulative)
	c.lbl = [2]string{label, value}
	return c
}

// Gauge adds a Current counter whose value f computes when read (f must be
// cheap and safe to call from any goroutine). It returns the existing
// counter if name is taken.
func (s *Set) Gauge(name, prom, help string, f func() int64) *Counter {
	s.mu.Lock()
	c := s.byName[name]
	s.mu.Unlock()
	if c != nil {
		return c
	}
	c = s.add(name, prom, help, Current)
	c.fn = f
	return c
}

// CounterFunc adds a Cumulative counter whose raw value (since start) f
// computes when read; a reset subtracts the value f had then. f must be
// cheap, never decrease and be safe to call from any goroutine. It
// returns the existing counter if name is taken.
func (s *Set) CounterFunc(name, prom, help string, f func() int64) *Counter {
	return s.computed(name, prom, help, Cumulative, [2]string{}, f)
}

// LabelledGauge is Gauge for a member of a labelled Prometheus family:
// prom{label="value"}.
func (s *Set) LabelledGauge(name, prom, label, value, help string, f func() int64) *Counter {
	return s.computed(name, prom, help, Current, [2]string{label, value}, f)
}

func (s *Set) computed(name, prom, help string, kind Kind, lbl [2]string, f func() int64) *Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byName[name]; c != nil {
		return c
	}
	c := &Counter{name: name, prom: prom, help: help, kind: kind, fn: f, lbl: lbl}
	s.counters = append(s.counters, c)
	s.byName[name] = c
	return c
}

// Lookup returns the counter with the given /Counters name, or nil.
func (s *Set) Lookup(name string) *Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[name]
}

func (s *Set) list() []*Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Counter(nil), s.counters...)
}

// Reset sets every cumulative counter back to zero; current ones keep
// their value.
func (s *Set) Reset() {
	for _, c := range s.list() {
		c.reset()
	}
}

// Meta describes one counter for the metadata answer.
type Meta struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// Metadata lists every counter with its description, in name order.
func (s *Set) Metadata() []Meta {
	list := s.list()
	out := make([]Meta, 0, len(list))
	for _, c := range list {
		out = append(out, Meta{Name: c.name, Description: c.help, Type: c.kind.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Content selects counters for a snapshot, as /Counters and
// log-output-content name it.
type Content string

// Content values.
const (
	ContentAll Content = "all" // every counter
	ContentNew Content = "new" // those whose value changed since the reader's previous read
	ContentSet Content = "set" // the non-zero ones
)

// Value is one counter's value in a snapshot.
type Value struct {
	Name  string
	Value int64
}

// Reader reads a Set and remembers what it saw, so content=new can answer
// "changed since my last read". Each consumer (the HTTP endpoint, the log
// printer) has its own Reader. Its methods are safe for concurrent use.
type Reader struct {
	set *Set

	mu   sync.Mutex // guards last
	last map[string]int64
}

// NewReader returns a Reader for s that has seen nothing yet (so its first
// content=new read returns every non-zero counter).
func (s *Set) NewReader() *Reader { return &Reader{set: s, last: map[string]int64{}} }

// Snapshot returns the counters content selects, in name order, and
// remembers every value for the next content=new read.
func (r *Reader) Snapshot(content Content) []Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.set.list()
	out := make([]Value, 0, len(list))
	for _, c := range list {
		v := c.Value()
		prev, seen := r.last[c.name]
		r.last[c.name] = v
		switch content {
		case ContentSet:
			if v == 0 {
				continue
			}
		case ContentNew:
			if v == prev && (seen || v == 0) {
				continue
			}
		}
		out = append(out, Value{Name: c.name, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Changed reports whether a counter other than the computed gauges
// (process memory and the like, which move all the time) changed since
// the reader's previous Changed call, and remembers the values.
func (r *Reader) Changed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, c := range r.set.list() {
		if c.fn != nil && c.kind == Current {
			continue
		}
		v := c.Value()
		if prev, seen := r.last[c.name]; v != prev && (seen || v != 0) {
			changed = true
		}
		r.last[c.name] = v
	}
	return changed
}

// processMemory reads the bytes of memory the Go runtime has obtained from
// the operating system.
func processMemory() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}
