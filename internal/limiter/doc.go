// Package limiter holds the per-client bounds of the node's front doors: a
// token bucket per key (a client address) on the injected clock, and the
// rule that finds a request's client address behind trusted proxies.
//
// A Keyed limiter is safe for concurrent use: one mutex guards its table,
// held only for the few arithmetic operations of one decision. The table is
// bounded: when it is full, buckets that have refilled completely (which
// carry no information) are dropped first, then the oldest.
package limiter
