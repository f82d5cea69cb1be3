package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/confab/confab/internal/kv"
)

// ForwardedBy is the header a forwarded request carries: the forwarding
// node's id. A node never forwards such a request again.
const ForwardedBy = "X-Confab-Forwarded-By"

// maxESPBody bounds the ESP body read to find the session id.
const maxESPBody = 1 << 20

// Middleware routes each request for a session that the local engine does
// not hold (has reports whether it does): to the live owner through a
// reverse proxy, or here after claiming it from a dead owner. It knows the
// customer API (/genesys/2/chat/{service}/{chatId}/..., the chatId) and the
// workflow API (/esp/..., the InteractionId of the JSON body); anything else
// passes through.
func (c *Cluster) Middleware(has func(sessionID string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, port, induce := sessionOf(r)
		if id == "" && c.Draining() && isRequestChat(r) {
			// A draining node takes no new sessions; the client tries
			// another node.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"statusCode":1,"errors":[{"code":100,"advice":"this node is draining; start the chat on another node"}]}` + "\n"))
			return
		}
		if id == "" || has(id) {
			next.ServeHTTP(w, r)
			return
		}
		route, err := c.resolve(WithRestorer(r.Context(), port), id, c.opts.MayRestore == nil || c.opts.MayRestore(port, induce), r.Header.Get(ForwardedBy) != "")
		if err != nil {
			c.opts.Log.Error("cluster: cannot route a request", "session", id, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"statusCode":1,"errors":[{"code":100,"advice":"the chat could not be located in the cluster; try again"}]}` + "\n"))
			return
		}
		if route.Local || r.Header.Get(ForwardedBy) != "" || !c.forward(w, r, id, route, port) {
			next.ServeHTTP(w, r)
		}
	})
}

// forward proxies r to the listener port of the live owner route names,
// and reports false, having written nothing, when it has no usable URL.
func (c *Cluster) forward(w http.ResponseWriter, r *http.Request, id string, route Route, port string) bool {
	target := route.URLs[port]
	if target == "" {
		return false
	}
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	proxy := &httputil.ReverseProxy{
		Transport: c.transport(),
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			pr.Out.Header.Set(ForwardedBy, c.opts.NodeID)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			c.opts.Log.Warn("cluster: forward failed", "session", id, "to", route.Node, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`{"statusCode":1,"errors":[{"code":100,"advice":"the node serving this chat did not answer; try again"}]}` + "\n"))
		},
	}
	proxy.ServeHTTP(w, r)
	return true
}

// forwardTimeout bounds the wait for a forwarded request's answer: longer
// than the customer API's longest long poll (30 s), so that a paused or
// partitioned owner does not hold requests for ever; the client retries and
// meanwhile the owner's lease ends.
const forwardTimeout = 45 * time.Second

// transport is the HTTP transport of forwarded requests.
func (c *Cluster) transport() http.RoundTripper {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rt == nil {
		c.rt = &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			ResponseHeaderTimeout: forwardTimeout,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
		}
	}
	return c.rt
}

// isRequestChat reports whether r starts a chat on the customer API.
func isRequestChat(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/genesys/2/chat/") {
		return false
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/genesys/2/chat/"), "/")
	return rest != "" && !strings.Contains(rest, "/")
}

// sessionOf returns the session id a request addresses, the port id of its
// API ("" when it addresses none: a new chat, health, ...), and whether an
// ESP request carries InduceRestore=true.
func sessionOf(r *http.Request) (id, port string, induce bool) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/genesys/2/chat/"):
		segs := strings.Split(strings.TrimPrefix(p, "/genesys/2/chat/"), "/")
		if len(segs) >= 3 && segs[1] != "" && segs[2] != "" {
			return segs[1], "webapi", false
		}
	case strings.HasPrefix(p, "/esp/") && r.Method == http.MethodPost && r.Body != nil:
		orig := r.Body
		body, err := io.ReadAll(io.LimitReader(orig, maxESPBody+1))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), orig), orig}
		if err != nil || len(body) > maxESPBody {
			return "", "", false
		}
		var req struct {
			InteractionID string          `json:"InteractionId"`
			InduceRestore json.RawMessage `json:"InduceRestore"`
			UserData      json.RawMessage `json:"UserData"`
		}
		if json.Unmarshal(body, &req) == nil {
			v := strings.Trim(string(req.InduceRestore), `"`)
			id := req.InteractionID
			if id == "" {
				id = userDataInteraction(req.UserData)
			}
			return id, "esp", v == "true" || v == "1"
		}
	}
	return "", "", false
}

// userDataInteraction is the InteractionId inside an ESP request's
// UserData parameter (a JSON object, or a string holding JSON or the
// list-like a:b|c:d form), as the ESP adapter finds the session when the
// request has no InteractionId parameter.
func userDataInteraction(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return ""
	}
	text := string(t)
	if t[0] == '"' {
		if json.Unmarshal(t, &text) != nil {
			return ""
		}
	} else if t[0] != '{' {
		return ""
	}
	m, err := kv.Parse(text)
	if err != nil {
		return ""
	}
	return m.String("InteractionId")
}
