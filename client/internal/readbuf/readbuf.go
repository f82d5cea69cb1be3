// Package readbuf reads whole messages (an HTTP answer's body, a
// WebSocket message) into buffers the clients reuse, so that a steady
// stream of messages costs no allocation once the buffer has grown to the
// largest of them. Its functions are safe for concurrent use on distinct
// buffers.
package readbuf

import (
	"bytes"
	"context"
	"io"

	"github.com/coder/websocket"
)

// Append reads r to its end after buf's contents, growing buf as needed,
// and returns it with what was read (also when the read failed).
func Append(r io.Reader, buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf)
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// Frame reads the next message of conn after buf's contents, as
// websocket.Conn.Read does but into buf.
func Frame(ctx context.Context, conn *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := conn.Reader(ctx)
	if err != nil {
		return buf, err
	}
	return Append(r, buf)
}
