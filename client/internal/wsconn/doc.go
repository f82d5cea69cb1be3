// Package wsconn is the client side of a WebSocket connection (RFC 6455,
// no extensions) for the clients of client/: the agent protocol socket and
// the Chat API v2 push channel. It replaces a general WebSocket library on
// their hot path: a message is read straight into the caller's reused
// buffer, and frames written concurrently on one connection are coalesced
// into one write, so that a program holding many sessions on one socket
// (a load generator) pays one system call for many frames. The handshake
// goes through the caller's http.Client, as the library's did.
//
// Concurrency: Read is for one goroutine at a time; Write, Queue, Close
// and CloseNow are safe for concurrent use with it and with each other. A
// writer that finds another one writing queues its frame for it and waits
// until it was written; Queue does not wait: a writer goroutine of the
// connection (started by the first Queue, ended by the close) writes
// everything queued in one write.
package wsconn
