// Package agent serves Confab's agent protocol: one WebSocket per agent
// desktop or bot at /agent/v1/ws, JSON frames whose types are defined in
// the public package client/agent, documented in docs/agent-protocol.md.
//
// The adapter is thin: it authenticates the socket (an agent token from the
// store, sent as a bearer token), decodes frames, and turns each operation
// into one call on the chat engine or the router. The session logic stays
// in the engine; queue logic (listing, the atomic accept) in routing.
//
// # One connection
//
// Each socket has one reader (the handler goroutine), one writer, one
// acknowledger, one pinger, and one watcher per session the socket is in.
// The reader decodes a frame and applies it at once, in order; the
// acknowledger waits until what the request appended is durable, then
// queues the answer (answers leave in request order). A watcher reads what
// its party may see with the session's change channel
// (Session.ReadNChanged) and queues it as an events frame; its first frame
// replays the transcript so far. A caught-up watcher has no goroutine: it
// parks on the session (Session.OnChange) and the session's next change
// queues it for the handler's runners, a few long-lived goroutines shared
// by every socket (at most Options.Runners, default twice GOMAXPROCS) that
// read and queue what woken watchers have to send (watcher.go,
// internal/runq); at most one runs per watcher. Everything the
// socket sends goes through one bounded queue drained by the writer.
// Watchers hold back while it is half full (by frames or bytes) and go on
// once the writer has drained it to a quarter, reading everything that
// arrived meanwhile in one frame (backpressure.go; a held-back watcher
// waits on a goroutine of its own, not on a runner): the transcript is the
// queue. When the queue is full all the same (answers and notices do not
// wait), or the watchers stay held back for the write timeout, the socket
// is closed with code 4001 "slow consumer". Every write has a deadline.
//
// A request id that was seen before on the socket is never applied again:
// it is answered with the first answer, marked duplicate. A frame that
// cannot be decoded is answered with an error frame and changes nothing;
// the socket and its sessions go on. When the socket ends, for whatever
// reason, its parties leave their sessions at once with reason 3
// (disconnect).
//
// # Clusters
//
// With Options.Cluster (SetCluster) a socket reaches sessions other nodes
// own (relay.go): it keeps one upstream socket per owner node, opened with
// the agent's token and the ForwardedBy header, relays the frames of those
// sessions there as they came and copies the upstream's events back; a
// pump per upstream hands answers to the acknowledger, which sends them in
// request order. When an upstream ends, one goroutine per session it
// served follows the session (Cluster.Follow) and sends a restored frame
// once it lives again. Upstreams and followers end with the socket.
package agent
