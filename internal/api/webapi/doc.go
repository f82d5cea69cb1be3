// Package webapi is the customer door of Confab: an HTTP adapter that speaks
// the reference gateway's Chat API Version 2 (REST, short polling) on the
// chat engine, plus two push extensions — a WebSocket per customer and an
// opt-in long-poll refresh — that deliver the same message objects as they
// happen. docs/customer-api.md is the wire contract; this comment explains
// how the package is put together.
//
// # Shape
//
// New builds an API from the engine, the live configuration, a clock and a
// logger; Register mounts its routes on a mux; Shutdown tells push clients the
// server is going away and stops the inactivity timers. The files split the
// work:
//
//   - api.go: Options, New, Shutdown, the table of live WebSocket connections;
//   - routes.go: the route table, CORS, and the catch-all for bad paths;
//   - form.go: request body decoding (form-urlencoded and multipart, with
//     userData[...] keys in any of the spellings clients use);
//   - fields.go: field limits and validation, error codes;
//   - encode.go: the common response body and the event mapping, written by
//     hand into a pooled buffer;
//   - handlers.go, files.go: the fifteen operations;
//   - auth.go: authentication of a customer request;
//   - push.go: the transport-neutral cursor push transports read from;
//   - ws.go: the WebSocket transport; refresh's long poll lives in handlers.go;
//   - presence.go: holds a connected customer against the engine's
//     flex-disconnect-timeout and flex-push-timeout.
//
// The adapter is thin: who may see what is the engine's decision
// (chat.Session.Read filters by the customer's user id), and so is
// idempotent sending (chat.Msg.ClientMsgID). This package only translates.
//
// # Push
//
// A push connection is a cursor (stream) over one customer's view of one
// session: a transcript position and nothing else. The transport takes the
// session's change channel, reads what is new from its position (at most
// MaxBacklog+1 events, chat.Session.ReadN), writes it, and waits on the
// channel again. There is no goroutine per message and no queue the session
// fills: the transcript itself is the queue, and a connection's share of it is
// the window between its position and the end. That window is bounded: a
// connection that finds more than MaxBacklog events pending has fallen
// behind, gets a "resync from index N" frame and is closed, and catches up
// with refresh. The CometD transport (internal/api/cometd) reads the same
// cursor, exported as Feed, from its /meta/connect handler. An accepted
// WebSocket push keeps one goroutine of its own (its HTTP handler returns,
// so net/http's per-connection buffers go): the reader of the client's
// keepalives. Its writer (pushrun.go) has none while it waits: it parks on
// the session (chat.Session.OnChange) and is run by the API's few runners
// (internal/runq) when the session changes, its ping timer fires, the
// reader ends or the server shuts down; it never waits on a runner (a
// frame the socket does not take at once, the pong, the close handshake
// go to goroutines of their own), and holds a read buffer only while it
// reads and writes.
//
// # Other transports
//
// calls.go is the operation layer for transports other than REST: Call
// runs an operation through the same handlers (the session is found by
// secureKey alone, keys.go), answering into a capture of what REST would
// have written; feed.go exports the push cursor; ntf.go serves the CometD
// clients' file operations with the REST file handlers.
//
// # Concurrency
//
// An API is safe for concurrent use. Request handlers share nothing but the
// engine (which serialises per session), the presence table (one mutex,
// touched at chat start, push connect and disconnect, and timer expiry — not
// per request) and the table of live WebSocket connections (one mutex, used at
// connect, disconnect and shutdown). Lock order: presence.mu and API.mu are
// never held together, and neither is held while calling the engine. A push
// writer's pushRun.mu is taken under a session's lock (its change callback)
// and under API.mu (Shutdown's wake-up); nothing is taken under it but the
// runners' queue lock (internal/runq), itself a leaf.
//
// Time comes from the injected clock.Clock: the inactivity timers, long-poll
// deadlines and WebSocket pings all use it, so tests drive them with
// clock.Fake. Only network write deadlines use the wall clock.
package webapi
