// Package wsconn is the client side of a WebSocket connection (RFC 6455,
// no extensions) for the clients of client/: the agent protocol socket and
// the Chat API v2 push channel. It replaces a general WebSocket library on
// their hot path: a message is read straight into the caller's reused
// buffer, and frames written concurrently on one connection are coalesced
// into one write, so that a program holding many sessions on one socket
// (a load generator) pays one system call for many frames. The handshake
// goes through the caller's http.Client, as the library's did.
//
// ReadEach is Read in a loop with a callback: when the connection's body
// hands out its socket (RawConner, as the load generator's transport
// does), it reads the socket inside syscall.RawConn.Read and, after a read
// that drained the socket, waits for readiness instead of reading again,
// so a wake-up costs one read instead of two (the second finding nothing).
//
// Concurrency: Read and ReadEach are for one goroutine at a time; Write,
// Queue, Close and CloseNow are safe for concurrent use with them and with
// each other (while ReadEach's callback runs, a Close from another
// goroutine waits for it to return; the callback must not close the
// connection itself). A
// writer that finds another one writing queues its frame for it and waits
// until it was written; Queue does not wait: a writer goroutine of the
// connection (started by the first Queue, ended by the close) writes
// everything queued in one write.
package wsconn
