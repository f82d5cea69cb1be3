// Package chat is Confab's chat engine: sessions, their parties, the
// transcript, who may see what, and how sessions end. It is pure logic: no
// network, no database, and time only through an injected clock.Clock.
//
// A Session holds an append-only transcript of Events (newParty, partyLeft,
// message, notice). Position 0.. is the reference's ScriptPos; Pos+1 is the
// event id and the customer API's index. What a party sees is a filter of the
// transcript by its user type and each event's visibility (Event.VisibleTo).
//
// Durability goes through the Journal interface: the engine hands it every
// event with the session lock held, and returns the Journal's Waiter in the
// Receipt so the caller can acknowledge only once the event is durable.
//
// Concurrency: the Engine's registry is sharded (64 shards, a lock each);
// every Session serialises its own operations with its own mutex. Waiters
// (long polls, WebSocket writers) take Session.Changed before reading and
// block on it; one channel per session is closed on each change, so there is
// no goroutine per message. Lock order: a registry shard lock before a
// session lock (only Create holds both, for a session nobody else can see yet);
// code holding a session lock never takes a shard lock.
//
// Timers (SetTimers): each session holds at most one deadline on the
// engine's node-wide timers.Scheduler, the earliest of its duties
// (inactivity control, async idle control, each customer's
// flex-disconnect-timeout or flex-push-timeout); see timers.go. A session
// lock may be held while the scheduler's lock is taken, never the reverse;
// the scheduler calls a session back without its own lock.
package chat
