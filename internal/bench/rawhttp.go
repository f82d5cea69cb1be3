package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"time"
)

// rawClient sends one prepared HTTP/1.1 request over and over on a
// kept-alive connection and reads each answer's status and body. The
// floods use it instead of net/http's client so that the generator, which
// shares the machine's cores with the server, spends as little CPU as it
// can per flood request (no request building, cloning or connection-pool
// goroutines): the server gets the same requests, and less of the run
// measures the generator.
type rawClient struct {
	addr string // host:port
	req  []byte // the whole request, headers and body
	conn net.Conn
	br   *bufio.Reader
	body []byte // the last answer's body (reused)
}

func newRawClient(addr string, req []byte) *rawClient { return &rawClient{addr: addr, req: req} }

// do sends the request and returns the answer's status; the body is in
// c.body until the next call. A broken connection is redialled once.
func (c *rawClient) do() (int, error) {
	for try := 0; ; try++ {
		status, err := c.once()
		if err == nil {
			return status, nil
		}
		c.close()
		if try > 0 {
			return 0, err
		}
	}
}

func (c *rawClient) once() (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	return c.readAnswer()
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

var errBadAnswer = errors.New("bench: malformed HTTP answer")

// readAnswer reads a status line, the headers and a Content-Length or
// chunked body.
func (c *rawClient) readAnswer() (int, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, errBadAnswer
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errBadAnswer
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, errBadAnswer
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, errBadAnswer
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		for {
			sz, err := c.br.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimRight(sz, "\r\n")), 16, 32)
			if err != nil {
				return 0, errBadAnswer
			}
			if err := c.readN(int(n) + 2); err != nil { // data and CRLF
				return 0, err
			}
			c.body = c.body[:len(c.body)-2]
			if n == 0 {
				break
			}
		}
	case length >= 0:
		if err := c.readN(length); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("bench: answer without a length: %w", errBadAnswer)
	}
	if closing {
		c.close()
	}
	return status, nil
}

func (c *rawClient) readN(n int) error {
	start := len(c.body)
	c.body = slices.Grow(c.body, n)[:start+n]
	_, err := io.ReadFull(c.br, c.body[start:])
	return err
}
