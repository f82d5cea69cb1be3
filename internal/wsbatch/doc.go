// Package wsbatch lets the writer goroutine of a WebSocket send several
// queued messages with one socket write. github.com/coder/websocket flushes
// every message to the socket on its own (one write system call each); on a
// socket carrying many sessions (an agent's) the frames of one moment then
// cost a system call apiece. Accept hands the library a connection that
// can be corked: between Cork and Uncork what the library writes is
// collected in memory and Uncork writes it in one go, in order.
// AppendText and SendText (text.go) write a text message's frame
// themselves, byte for byte the library's, without its writer's locks and
// copies; a connection whose messages go through them leaves the library
// only its control frames, and refuses messages once a close frame went
// out. SendTextNoWait (nowait.go) is for a writer shared by many sockets
// (a pool's runner): it never waits for the network, and hands what the
// socket does not take at once to a goroutine of the connection's own.
//
// Concurrency: Cork and Uncork are called by one goroutine (the socket's
// writer); the library may write from other goroutines meanwhile (pings,
// close frames), and every byte reaches the socket in the order it was
// written. An Uncork blocked on the network holds the connection's lock,
// so other writers wait as they would on the socket itself; the library's
// write timeouts (which close the connection) and Uncork's deadline bound
// it. The library's uncorked writes and the held bytes of SendTextNoWait
// are written without the lock, one writer at a time (flushing): other
// writes wait for them, SendTextNoWait only adds its frame behind them.
package wsbatch
