// Package runq is a small pool of long-lived goroutines that run queued
// work items in turn: the parked writers of the server's sockets (an
// agent socket's session watchers, a customer's push socket) hand
// themselves to a pool when their session changes instead of starting a
// goroutine each, or keeping one parked per socket.
//
// On a busy server every delivered event woke a writer, and a goroutine
// started for it grew (copied) its small stack on the way through the
// frame encoder each time: about 7% of the server's CPU in newproc,
// newstack and goexit. A runner's stack grows once and stays. A dense
// server holds tens of thousands of idle sockets: a goroutine parked for
// each is a stack the garbage collector scans on every cycle. The queue
// holds only the items woken and not yet run, each at most once when the
// callers keep to one wake per park.
//
// An item's work must never wait for long (a slow peer, a backlogged
// queue): it hands such waits to a goroutine of its own, so that one slow
// socket does not stall the others.
//
// Concurrency: Push may be called with other locks held (a session's
// change callback runs under the session's lock): it takes only the
// pool's own mutex, which is never held while calling anything else, and
// may start a goroutine. Acquire, Release and Counts are safe from any
// goroutine.
package runq
