package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
)

// readAnswerHead reads an answer's status line and headers and sets up
// its body, as http.ReadResponse does for the answers a Go server sends
// (HTTP/1.x; Content-Length, chunked, or no body); anything else, and a
// 101, is left to http.ReadResponse (the head is peeked, not consumed).
func readAnswerHead(br *bufio.Reader, req *http.Request, seen *headerValues) (*http.Response, error) {
	if p, err := br.Peek(12); err != nil || !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) || p[9] == '1' {
		return http.ReadResponse(br, req)
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("status line: %w", err)
	}
	line = bytes.TrimRight(line, "\r\n")
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 || (len(line) > 12 && line[12] != ' ') {
		return nil, fmt.Errorf("malformed status line %q", line)
	}
	resp := &http.Response{Status: string(line[9:]), StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, 4), Request: req, ContentLength: -1}
	chunked := false
	var vals []string // one backing array for the headers' values
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok || len(k) == 0 || h[0] == ' ' || h[0] == '\t' {
			return nil, fmt.Errorf("malformed header %q", h)
		}
		v = bytes.TrimSpace(v)
		key := headerKey(k)
		switch key {
		case "Content-Length":
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || resp.ContentLength >= 0 {
				return nil, fmt.Errorf("bad Content-Length %q", v)
			}
			resp.ContentLength = n
		case "Transfer-Encoding":
			if !bytes.EqualFold(v, []byte("chunked")) {
				return nil, fmt.Errorf("unsupported Transfer-Encoding %q", v)
			}
			chunked = true
		case "Connection":
			if bytes.EqualFold(v, []byte("close")) {
				resp.Close = true
			}
		}
		if have := resp.Header[key]; have != nil {
			resp.Header[key] = append(have, string(v))
		} else {
			if vals == nil {
				vals = make([]string, 0, 8)
			}
			vals = append(vals, seen.value(key, v))
			resp.Header[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	switch {
	case req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified:
		resp.Body = http.NoBody
		resp.ContentLength = 0
	case chunked:
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
		resp.Body = io.NopCloser(httputil.NewChunkedReader(br))
	case resp.ContentLength >= 0:
		resp.Body = io.NopCloser(&io.LimitedReader{R: br, N: resp.ContentLength})
	default: // the body runs to the connection's end
		resp.Close = true
		resp.Body = io.NopCloser(br)
	}
	return resp, nil
}

// headerValues keeps the last value of each header a connection's answers
// carried: the same value again (the content type, the date within a
// second, a length) is the same string, not a new one.
type headerValues struct{ kv [8][2]string }

// value returns v as a string, the one kept for key when v is the same.
func (h *headerValues) value(key string, v []byte) string {
	if h == nil {
		return string(v)
	}
	for i := range h.kv {
		switch h.kv[i][0] {
		case key:
			if h.kv[i][1] != string(v) {
				h.kv[i][1] = string(v)
			}
			return h.kv[i][1]
		case "":
			h.kv[i] = [2]string{key, string(v)}
			return h.kv[i][1]
		}
	}
	return string(v)
}

// headerKey returns the canonical form of a header name, without an
// allocation for the names Confab's answers carry.
func headerKey(k []byte) string {
	switch string(k) {
	case "Content-Type":
		return "Content-Type"
	case "Content-Length":
		return "Content-Length"
	case "Date":
		return "Date"
	case "Connection":
		return "Connection"
	case "Transfer-Encoding":
		return "Transfer-Encoding"
	case "Cache-Control":
		return "Cache-Control"
	case "X-Content-Type-Options":
		return "X-Content-Type-Options"
	}
	return textproto.CanonicalMIMEHeaderKey(string(k))
}
