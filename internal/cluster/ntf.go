package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// CometD file operations (/genesys/2/chat-ntf) reaching a node that does
// not hold the request's Bayeux client: a load balancer that does not keep
// the BAYEUX_BROWSER cookie on one node (WebSocket clients need no
// stickiness otherwise). The client's chat follows the client, so its
// owner is where the client lives: ForwardFiles sends the request there.

// maxNtfFields bounds the bytes of a chat-ntf body read to find its
// secureKey and chatId: the plain fields before the file part.
const maxNtfFields = 64 << 10

// NotificationFields returns the chatId and secureKey of a chat-ntf body
// (multipart, or form-urlencoded) and leaves r.Body as it was: what was
// read (at most maxNtfFields bytes, the fields before the file part) is
// put back in front of the rest, which stays unread and streams on. Fields
// past the bound or after the file part are not seen.
func NotificationFields(r *http.Request) (chatID, secureKey string) {
	if r.Body == nil || r.Body == http.NoBody {
		return "", ""
	}
	orig := r.Body
	var seen bytes.Buffer
	tee := io.TeeReader(io.LimitReader(orig, maxNtfFields), &seen)
	defer func() {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(seen.Bytes()), orig), orig}
	}()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", ""
	}
	switch {
	case mt == "multipart/form-data" && params["boundary"] != "":
		return multipartFields(multipart.NewReader(tee, params["boundary"]))
	case mt == "application/x-www-form-urlencoded":
		b, err := io.ReadAll(tee)
		if err != nil || len(b) >= maxNtfFields {
			return "", ""
		}
		q, err := url.ParseQuery(string(b))
		if err != nil {
			return "", ""
		}
		return q.Get("chatId"), q.Get("secureKey")
	}
	return "", ""
}

// multipartFields reads the plain parts up to the first file part.
func multipartFields(mr *multipart.Reader) (chatID, secureKey string) {
	for {
		p, err := mr.NextPart()
		if err != nil {
			return chatID, secureKey
		}
		name := p.FormName()
		if p.FileName() != "" || name == "file" {
			return chatID, secureKey
		}
		if name != "chatId" && name != "secureKey" {
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, 1024))
		if err != nil {
			return chatID, secureKey
		}
		if name == "chatId" && chatID == "" {
			chatID = string(v)
		} else if name == "secureKey" && secureKey == "" {
			secureKey = string(v)
		}
		if chatID != "" && secureKey != "" {
			return chatID, secureKey
		}
	}
}

// ForwardFiles forwards a chat-ntf request whose Bayeux client does not
// live on this node to the live node that owns its chat, found by the
// request's secure key (SessionOfKey; a chatId sent along must name the
// same chat), and reports whether it did. It forwards nothing for a key no
// live chat has, a chat this node holds (has), a dead or draining owner, a
// request another node forwarded, or while this node drains (a balancer
// takes it out): the caller then answers as it does for a client it does
// not know. So only the right key makes a difference.
func (c *Cluster) ForwardFiles(w http.ResponseWriter, r *http.Request, has func(sessionID string) bool) bool {
	if r.Method != http.MethodPost || r.Header.Get(ForwardedBy) != "" || c.Draining() {
		return false
	}
	chatID, key := NotificationFields(r)
	if key == "" {
		return false
	}
	id, err := c.SessionOfKey(r.Context(), key)
	if err != nil {
		c.opts.Log.Warn("cluster: chat-ntf not routed", "err", err)
		return false
	}
	if id == "" || (chatID != "" && chatID != id) || has(id) {
		return false
	}
	route, err := c.resolve(r.Context(), id, false, false)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			c.opts.Log.Warn("cluster: chat-ntf not routed", "session", id, "err", err)
		}
		return false
	}
	if route.Local || strings.TrimSpace(route.Node) == "" {
		return false
	}
	return c.forward(w, r, id, route, "webapi")
}
