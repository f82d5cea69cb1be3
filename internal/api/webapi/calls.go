package webapi

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
)

// This file is the operation layer other transports call: the CometD
// adapter (internal/api/cometd) publishes a Chat API v2 operation as a Call
// and gets back exactly the answer REST would have given, produced by the
// same handlers. Nothing here decodes outside input; the caller turns its
// wire format into fields.

// Field is one named value of a call, as a form field would carry it.
// userData and eventAttributes may be JSON objects in one field each.
type Field struct{ Name, Value string }

// Call is one operation from a transport other than REST.
type Call struct {
	Service string // the serviceName
	// Operation is the REST operation name ("send", "refresh",
	// "startTyping", …, the last path segment) or "requestChat". File
	// operations are not calls: they go to ServeNotificationFiles.
	Operation string
	Fields    []Field
	// ChatID, when set, must be the chat the secure key belongs to.
	ChatID string
}

// Result is what REST would have answered.
type Result struct {
	HTTPStatus int
	Body       []byte // the JSON body, owned by the caller
	// ChatID, UserID and SecureKey identify the customer the answer belongs
	// to; empty when the call was refused before a chat was found.
	ChatID, UserID, SecureKey string
	Next                      int  // nextPosition (0 when the body has none)
	From                      int  // index of the first event carried (0: none)
	Events                    int  // number of events carried
	Ended                     bool // chatEnded
}

// callOp returns the session operation a Call may name.
func callOp(name string) (op, bool) {
	switch name {
	case "send":
		return opSend, true
	case "refresh":
		return opRefresh, true
	case "startTyping":
		return opStartTyping, true
	case "stopTyping":
		return opStopTyping, true
	case "disconnect":
		return opDisconnect, true
	case "customNotice":
		return opCustomNotice, true
	case "pushUrl":
		return opPushURL, true
	case "updateData":
		return opUpdateData, true
	case "updateNickname":
		return opUpdateNickname, true
	case "readReceipt":
		return opReadReceipt, true
	}
	return nil, false
}

// HasOperation reports whether name is an operation Call accepts.
func HasOperation(name string) bool {
	_, ok := callOp(name)
	return ok || name == "requestChat"
}

// Call runs one operation as REST would, with two differences that the
// reference gives push transports: the session is found by secureKey alone
// (userId and alias may be absent; chatId and userId, when sent, must
// match), and refresh never long-polls (waitSeconds is ignored: push
// clients get events as they happen). ctx bounds the wait for durability.
func (a *API) Call(ctx context.Context, c Call) Result {
	cfg := a.config()
	lim := limitsFor(cfg)
	cw := &capture{}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, basePath, nil)
	if err != nil { // only for a nil ctx
		panic(err)
	}
	f := &form{}
	f.fields = f.inline[:0]
	size := 0
	for _, fd := range c.Fields {
		size += len(fd.Name) + len(fd.Value) + 2
		if size > lim.body {
			a.fail(cw, tooLarge(lim.body))
			return cw.result()
		}
		if fd.Name == "waitSeconds" {
			continue
		}
		if fl := f.add(fd.Name, fd.Value); fl != nil {
			a.fail(cw, fl)
			return cw.result()
		}
	}
	if c.Operation == "requestChat" {
		if cr := clientOf(ctx); cr != nil && !a.allowCreate(cw, cr, cfg) {
			return cw.result()
		}
		a.requestChat(cw, r, c.Service, cfg, lim, f)
		return cw.result()
	}
	h, ok := callOp(c.Operation)
	if !ok {
		a.fail(cw, &failure{status: http.StatusNotFound, errs: []apiError{{codeNotFound, "no such Chat API v2 operation: " + clip(c.Operation)}}})
		return cw.result()
	}
	rq := &request{w: cw, r: r, cfg: cfg, lim: lim, form: f, chatID: c.ChatID, service: c.Service}
	a.runByKey(rq, h)
	return cw.result()
}

// runByKey runs a session operation whose client identifies the session by
// secureKey alone: it fills in chatId and userId from the key index (a
// chatId or userId the client sent must agree) and this node's alias, then
// authenticates as REST does. A key the index does not know still works
// when chatId and userId are sent (restored chats are indexed, IndexKeys;
// in a cluster the chat of a key elsewhere is brought here first).
// keyAuth authenticates a request by its secureKey alone, as CometD
// clients are (runByKey without the run).
func (a *API) keyAuth(rq *request) bool {
	if e, ok := a.keys.get(rq.form.get("secureKey")); ok {
		uid := rq.form.get("userId")
		if (rq.chatID != "" && rq.chatID != e.chatID) || (uid != "" && uid != e.userID) {
			return false
		}
		rq.chatID = e.chatID
		rq.form.set("userId", e.userID)
	} else if rq.chatID == "" {
		rq.chatID = rq.form.get("chatId")
	}
	rq.form.set("alias", a.alias)
	return a.authenticate(rq)
}

func (a *API) runByKey(rq *request, h op) {
	if e, ok := a.keys.get(rq.form.get("secureKey")); ok {
		uid := rq.form.get("userId")
		if (rq.chatID != "" && rq.chatID != e.chatID) || (uid != "" && uid != e.userID) {
			a.unauthorized(rq.w)
			return
		}
		rq.chatID = e.chatID
		rq.form.set("userId", e.userID)
	} else if rq.chatID == "" {
		rq.chatID = rq.form.get("chatId")
	}
	rq.form.set("alias", a.alias)
	a.run(rq, h)
}

// set replaces the first value of a field, or adds it.
func (f *form) set(name, value string) {
	for i := range f.fields {
		if f.fields[i].name == name {
			f.fields[i].value = value
			return
		}
	}
	f.fields = append(f.fields, field{name, value})
}

// capture is the http.ResponseWriter a Call's handlers write to. send
// notes the body's identifiers and positions in it.
type capture struct {
	header http.Header
	status int
	buf    bytes.Buffer
	res    Result
}

func (c *capture) Header() http.Header {
	if c.header == nil {
		c.header = http.Header{}
	}
	return c.header
}

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(p)
}

// note records what the body says about the chat.
func (c *capture) note(b *body) {
	c.res.ChatID, c.res.UserID, c.res.SecureKey = b.chatID, b.userID, b.secureKey
	c.res.Next, c.res.Ended = b.next, b.ended
	c.res.From, c.res.Events = 0, 0
	for i := range b.events {
		ev := &b.events[i]
		if ev.Pos < 0 || wireType(ev) == "" {
			continue // not a transcript event (file limits) or not shown
		}
		if c.res.Events == 0 {
			c.res.From = ev.ID()
		}
		c.res.Events++
	}
}

func (c *capture) result() Result {
	r := c.res
	r.HTTPStatus = c.status
	if r.HTTPStatus == 0 {
		r.HTTPStatus = http.StatusOK
	}
	r.Body = bytes.Clone(c.buf.Bytes())
	return r
}

// String describes a result for logs and test failures.
func (r Result) String() string {
	var sb strings.Builder
	sb.WriteString("HTTP ")
	sb.WriteString(strconv.Itoa(r.HTTPStatus))
	sb.WriteByte(' ')
	sb.Write(r.Body)
	return sb.String()
}
