// Package timers is the node's one deadline scheduler: a min-heap of
// deadlines on an injected clock.Clock, with a single clock timer for the
// whole node, always armed for the earliest deadline.
//
// Each owner (in Confab, a chat session) embeds one Entry and so holds at
// most one pending deadline — the earliest of its duties, which the owner
// computes itself. When a deadline falls due the scheduler calls the
// owner's Expire with the current time; the owner does what is due and
// schedules its next deadline, if any.
//
// Owners are expected to schedule lazily: activity that only moves a
// deadline later need not touch the scheduler at all (the entry fires at
// the old time, and Expire finds nothing due and re-schedules). Only a
// deadline that becomes earlier has to be scheduled at once. That keeps the
// scheduler's one lock off the message path.
//
// Concurrency: every method is safe for concurrent use. The scheduler's
// mutex guards the heap and every Entry's position in it; it is never held
// while an owner's Expire runs, so an owner may hold its own lock while it
// calls Schedule or Cancel (lock order: owner, then scheduler). Expire calls
// of one firing run one after another on the clock's callback goroutine.
package timers
