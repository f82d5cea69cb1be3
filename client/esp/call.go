package esp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/confab/confab/client/internal/jsonscan"
)

// do sends a call: straight to the http.Client's Transport when the Client
// adds nothing to it (no cookie jar, no timeout, no credentials in the
// URL), since net/http's Client copies every request's headers for the
// redirects it might follow. An answer that redirects is dropped and the
// call made again through the Client, which follows it (a redirected call
// was not applied). Errors are *url.Error, as the Client's are.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	hc := c.hc
	if hc.Jar != nil || hc.Timeout > 0 || req.URL.User != nil || req.GetBody == nil {
		return hc.Do(req)
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: err}
	}
	if resp.StatusCode < 300 || resp.StatusCode >= 400 || resp.Header.Get("Location") == "" {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	again := req.Clone(req.Context())
	body, err := req.GetBody()
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: err}
	}
	again.Body = body
	return hc.Do(again)
}

// decodeReply decodes a success answer into r by hand when it can
// (client/internal/jsonscan; SessionInfo goes to encoding/json), and with
// encoding/json as a whole otherwise, so the result is always what
// json.Unmarshal gives.
func decodeReply(data []byte, r *Reply) error {
	var sc jsonscan.Scanner
	sc.Reset(data)
	if scanReply(&sc, r) && sc.End() {
		return nil
	}
	*r = Reply{}
	return json.Unmarshal(data, r)
}

// replyKeys are Reply's JSON names in scanReply's order: a key matching
// one only case-insensitively is left to encoding/json.
var replyKeys = []string{"OccuredAt", "ScriptPos", "IsClosed", "SessionInfo"}

func replyIndex(key string) int {
	switch key {
	case "OccuredAt":
		return 0
	case "ScriptPos":
		return 1
	case "IsClosed":
		return 2
	case "SessionInfo":
		return 3
	}
	return 4
}

func scanReply(sc *jsonscan.Scanner, r *Reply) bool {
	if !sc.Object() {
		return false
	}
	var mask uint32
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			break
		}
		bit := replyIndex(k)
		if bit == len(replyKeys) {
			if jsonscan.Folds(k, replyKeys) {
				sc.Fail()
			} else {
				sc.Skip()
			}
			continue
		}
		if mask&(1<<uint(bit)) != 0 {
			sc.Fail() // a duplicate: encoding/json merges or replaces
		}
		mask |= 1 << uint(bit)
		if sc.Null() {
			continue
		}
		switch bit {
		case 0:
			r.OccuredAt = sc.String()
		case 1:
			n := int(sc.Int())
			r.ScriptPos = &n
		case 2:
			n := int(sc.Int())
			r.IsClosed = &n
		case 3:
			raw := sc.Skip()
			if !sc.Failed() && json.Unmarshal([]byte(raw), &r.SessionInfo) != nil {
				sc.Fail()
			}
		}
	}
	return !sc.Failed()
}
