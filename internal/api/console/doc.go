// Package console serves the supervisor console's live picture at
// GET /agent/v1/console on the agent listener, for a supervisor's agent
// token (or the [admin] token): the supervisor's queues (waiting count,
// oldest wait, offers, agents serving them), the logged-in agents of those
// queues (state, chats, capacity), the live chats of those queues (which
// the supervisor may monitor, coach and barge in on through the agent
// protocol's ops) and the node's KPI figures (the counters /Counters
// serves). It only reads: routing's snapshots, the account list and the
// KPI counters.
//
// # Concurrency
//
// A Handler is immutable after New; every request takes fresh snapshots
// (routing and the counters are safe for concurrent use).
package console
