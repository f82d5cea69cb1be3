// Package agent is the public Go side of Confab's agent protocol: the frame
// types an agent desktop or bot exchanges with the server over one
// WebSocket (Request, Frame, Event, Interaction, the error codes), and a
// Client that speaks it.
//
// The server's adapter (internal/api/agent) encodes its frames with these
// types, so they are the protocol's definition in Go; docs/agent-protocol.md
// describes the same frames for other languages.
//
// A Client has one goroutine reading the socket. Answers are matched to
// requests by id; everything else (transcript events, answers nobody waits
// for) arrives on Frames, which must be read, or, for a program that only
// records frames, to Options.OnFrame on the reading goroutine itself.
// Frames are decoded without reflection (decode.go, with encoding/json as
// the fallback for what the fast path does not handle). SendAsync hands a
// send's answer to a callback on the reading goroutine instead of a waiting
// caller (async.go); the WebSocket side is client/internal/wsconn, which
// writes the requests queued meanwhile together.
//
// With Options.Nodes the client survives its node (failover.go): the
// reading goroutine replaces a failed connection by one to the next node,
// and one goroutine per session joins it again as the same party; events
// already delivered are dropped from the replay, and a send under way is
// sent again with its id once its session is joined again. A restored
// frame (the session moved after its node failed) has the session joined
// again the same way.
package agent
