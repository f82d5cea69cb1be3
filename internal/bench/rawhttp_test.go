package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRawClient checks the floods' HTTP client against net/http's server:
// a small answer (Content-Length), a large one (chunked), the same
// connection kept, and a redial after the server closes it.
func TestRawClient(t *testing.T) {
	big := strings.Repeat("y", 10000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"errors":[]}`))
		case "/big":
			w.Write([]byte(big)) // over net/http's buffer: chunked
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/small", 429, `{"errors":[]}`},
		{"/big", 200, big},
		{"/close", 200, "bye"},
	} {
		c := newRawClient(host, []byte("GET "+tc.path+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n"))
		for i := range 3 {
			status, err := c.do()
			if err != nil || status != tc.status || string(c.body) != tc.body {
				t.Fatalf("%s, call %d: %d %v, body of %d bytes", tc.path, i, status, err, len(c.body))
			}
		}
		c.close()
	}
}
