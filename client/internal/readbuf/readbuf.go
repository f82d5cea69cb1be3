// Package readbuf reads whole messages (an HTTP answer's body) into buffers the clients reuse, so that a steady
// stream of messages costs no allocation once the buffer has grown to the
// largest of them. Its functions are safe for concurrent use on distinct
// buffers.
package readbuf

import (
	"bytes"
	"io"
)

// Append reads r to its end after buf's contents, growing buf as needed,
// and returns it with what was read (also when the read failed).
func Append(r io.Reader, buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf)
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}
