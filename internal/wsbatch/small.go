package wsbatch

import (
	"bufio"
	"bytes"
	"io"
	"net/http"

	"github.com/coder/websocket"
)

// smallBuf is the size of the buffered reader and writer AcceptSmall gives
// the library: a control frame (at most 14 bytes of header and 125 of
// payload) fits in one, so each is still one Write of ours.
const smallBuf = 256

// AcceptSmall is Accept for a socket that mostly writes, such as a
// customer's push channel (it receives a keepalive now and then): the
// library keeps the hijacked connection's buffered reader and writer for
// the socket's life, 4 KB each from net/http, and AcceptSmall hands it
// 256-byte ones instead (a server holding 10,000 push sockets keeps 75 MB
// less). Writes corked by Cork do not go through the library's writer's
// buffer size at all (a large Write of an empty bufio.Writer goes straight
// to the corked connection); a larger frame received is read in more than
// one read. Nor does the connection keep its write buffer between
// frames: a push socket waits for its session's next change most of the
// time, and 10,000 of them kept 3 MB of buffers that way.
func AcceptSmall(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, *Conn, error) {
	hw := &hijackWriter{ResponseWriter: w, small: true}
	return accept(hw, r, opts)
}

// shrink returns brw's replacement with small buffers over c, or brw
// itself (its writer pointed at c) when the client already sent more than
// a small reader holds.
func shrink(brw *bufio.ReadWriter, c *Conn) *bufio.ReadWriter {
	n := brw.Reader.Buffered()
	if n > smallBuf {
		brw.Writer.Reset(c)
		return brw
	}
	var r *bufio.Reader
	if n == 0 {
		r = bufio.NewReaderSize(c, smallBuf)
	} else {
		// Bytes the client sent after its handshake: carry them over in
		// the new reader's buffer, where the library looks for them.
		early, _ := brw.Reader.Peek(n)
		r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), c), smallBuf)
		if _, err := r.Peek(n); err != nil {
			brw.Writer.Reset(c)
			return brw
		}
	}
	return bufio.NewReadWriter(r, bufio.NewWriterSize(c, smallBuf))
}
