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
// for) arrives on Frames, which must be read.
package agent
