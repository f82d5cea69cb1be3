package chatv2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/client/internal/directcall"
	"github.com/confab/confab/client/internal/readbuf"
)

// Options configure a Client.
type Options struct {
	// HTTPClient makes the calls; default a client with keep-alive
	// connection pooling sized for many chats to one server.
	HTTPClient *http.Client
	// APIKey, when set, is sent as the apikey header (API gateways).
	APIKey string
	// Authorization, when set, is sent as the Authorization header.
	Authorization string
	// Nodes are further base URLs of the same cluster. On a connection
	// failure, or an answer 502 or 503 from a node, the call is made again
	// on the next node, which then stays the current one. A chat's
	// positions are the same on every node, so a reader resumes where it
	// was. With Nodes set, a Send without a ClientMessageID gets a random
	// one, so that a send repeated on another node is not appended twice.
	Nodes []string
	// KeepAlive is how often a push subscription sends the server a
	// keepalive frame: an open socket alone is not the customer's activity
	// for the server's flex-disconnect-timeout (default 45 s), what the
	// client sends on it is. 0 means DefaultKeepAlive; negative sends none.
	KeepAlive time.Duration
}

// DefaultKeepAlive is the push subscriptions' keepalive period when
// Options.KeepAlive is 0.
const DefaultKeepAlive = 15 * time.Second

// Client talks to one Chat API v2 base URL (and, with Options.Nodes, its
// alternates). It is safe for concurrent use.
type Client struct {
	bases  []string // each ends without a slash, e.g. http://host/genesys/2/chat
	cur    atomic.Int64
	hc     *http.Client
	apiKey string
	auth   string
	alive  time.Duration // keepalive period of subscriptions; <= 0: none
	// bodies holds the buffers answers are read into (*[]byte):
	// decodeResponse copies what it keeps, so a buffer is reused as soon
	// as its answer is decoded.
	bodies sync.Pool
	// parsed are the bases parsed once (nil where a base is not a plain
	// URL, whose calls then parse it each time), header the headers of
	// every call: shared, never written (net/http's Client copies a
	// request's headers before it changes them).
	parsed []*url.URL
	header http.Header
}

// base returns the current node's base URL.
func (c *Client) base() string { return c.bases[int(c.cur.Load())%len(c.bases)] }

// New returns a Client for the base URL of the API, the part before the
// service name (for example http://127.0.0.1:8080/genesys/2/chat).
func New(baseURL string, opts Options) *Client {
	c := &Client{bases: []string{strings.TrimRight(baseURL, "/")}, hc: opts.HTTPClient, apiKey: opts.APIKey, auth: opts.Authorization, alive: opts.KeepAlive}
	if c.alive == 0 {
		c.alive = DefaultKeepAlive
	}
	c.bodies.New = func() any { b := make([]byte, 0, 4096); return &b }
	for _, n := range opts.Nodes {
		c.bases = append(c.bases, strings.TrimRight(n, "/"))
	}
	for _, b := range c.bases {
		u, err := url.Parse(b)
		if err != nil || u.Opaque != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Host == "" || strings.HasSuffix(u.Host, ":") {
			u = nil
		}
		c.parsed = append(c.parsed, u)
	}
	c.header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if c.apiKey != "" {
		c.header.Set("apikey", c.apiKey)
	}
	if c.auth != "" {
		c.header.Set("Authorization", c.auth)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return c
}

// HTTPClient returns the http.Client the Client uses.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// CloseIdleConnections closes the pooled connections not in use.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// ChatRequest is what a customer gives to start a chat. Nickname, or both
// FirstName and LastName, is required.
type ChatRequest struct {
	Nickname     string
	FirstName    string
	LastName     string
	Subject      string
	EmailAddress string
	// Text is an opening text, carried on the customer's ParticipantJoined.
	Text     string
	UserData map[string]string
}

// Chat is one chat session seen from its customer. Its methods are safe for
// concurrent use.
type Chat struct {
	c         *Client
	Service   string
	ID        string
	UserID    string
	SecureKey string

	mu    sync.Mutex // guards alias
	alias string
}

// RequestChat starts a chat on the named service. The Response is the
// request-chat answer (its messages hold the customer's ParticipantJoined).
func (c *Client) RequestChat(ctx context.Context, service string, req ChatRequest) (*Chat, *Response, error) {
	f := newForm()
	f.add("nickname", req.Nickname)
	f.add("firstName", req.FirstName)
	f.add("lastName", req.LastName)
	f.add("subject", req.Subject)
	f.add("emailAddress", req.EmailAddress)
	f.add("text", req.Text)
	f.userData(req.UserData)
	resp, err := c.post(ctx, "/"+url.PathEscape(service), f)
	if err != nil {
		return nil, resp, err
	}
	ch := &Chat{c: c, Service: service, ID: resp.ChatID, UserID: resp.UserID, SecureKey: resp.SecureKey, alias: resp.Alias}
	return ch, resp, nil
}

// Resume returns the handle of an existing chat from stored credentials (a
// page reload); its first Refresh tells whether the chat is still alive.
func (c *Client) Resume(service, chatID, userID, secureKey, alias string) *Chat {
	return &Chat{c: c, Service: service, ID: chatID, UserID: userID, SecureKey: secureKey, alias: alias}
}

// Alias returns the alias to send, the latest one the server answered.
func (ch *Chat) Alias() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.alias
}

// SendOptions are the optional fields of Send.
type SendOptions struct {
	// MessageType is a free-form label; the widget sends "text".
	MessageType string
	// ClientMessageID makes the send idempotent: a retry with the same id
	// adds no second message and gets the same answer.
	ClientMessageID string
	// EventAttributes are sent as a JSON string.
	EventAttributes map[string]any
	// TranscriptPosition, when > 0, asks for the events from that index in
	// the answer.
	TranscriptPosition int
}

// Send posts a message.
func (ch *Chat) Send(ctx context.Context, text string, opts *SendOptions) (*Response, error) {
	f := ch.form()
	f.add("message", text)
	if opts != nil {
		f.add("messageType", opts.MessageType)
		f.add("clientMessageId", opts.ClientMessageID)
		if err := f.attrs(opts.EventAttributes); err != nil {
			return nil, err
		}
		if opts.TranscriptPosition > 0 {
			f.addInt("transcriptPosition", opts.TranscriptPosition)
		}
	}
	if (opts == nil || opts.ClientMessageID == "") && len(ch.c.bases) > 1 {
		var b [12]byte
		rand.Read(b[:])
		f.add("clientMessageId", hex.EncodeToString(b[:])) // a retry on another node stays one message
	}
	return ch.call(ctx, "send", f)
}

// Refresh returns the events from index position on (1 = the whole
// transcript).
func (ch *Chat) Refresh(ctx context.Context, position int) (*Response, error) {
	f := ch.form()
	f.addInt("transcriptPosition", position)
	return ch.call(ctx, "refresh", f)
}

// LongPoll is Refresh that, when nothing is there yet, waits up to wait
// (whole seconds; the server caps it) for an event (Confab's waitSeconds
// extension). It answers with no messages when the wait ends empty.
func (ch *Chat) LongPoll(ctx context.Context, position int, wait time.Duration) (*Response, error) {
	f := ch.form()
	f.addInt("transcriptPosition", position)
	f.addInt("waitSeconds", int(wait/time.Second))
	return ch.call(ctx, "refresh", f)
}

// StartTyping tells the agent the customer is typing, with a preview.
func (ch *Chat) StartTyping(ctx context.Context, preview string) (*Response, error) {
	f := ch.form()
	f.add("message", preview)
	return ch.call(ctx, "startTyping", f)
}

// StopTyping tells the agent the customer stopped typing.
func (ch *Chat) StopTyping(ctx context.Context) (*Response, error) {
	return ch.call(ctx, "stopTyping", ch.form())
}

// CustomNotice sends a custom notice with optional event attributes.
func (ch *Chat) CustomNotice(ctx context.Context, text string, attrs map[string]any) (*Response, error) {
	f := ch.form()
	f.add("message", text)
	if err := f.attrs(attrs); err != nil {
		return nil, err
	}
	return ch.call(ctx, "customNotice", f)
}

// PushURL sends a URL to the agent.
func (ch *Chat) PushURL(ctx context.Context, u string) (*Response, error) {
	f := ch.form()
	f.add("pushUrl", u)
	return ch.call(ctx, "pushUrl", f)
}

// UpdateData merges user data into the chat.
func (ch *Chat) UpdateData(ctx context.Context, data map[string]string) (*Response, error) {
	f := ch.form()
	f.userData(data)
	return ch.call(ctx, "updateData", f)
}

// UpdateNickname changes the customer's nickname.
func (ch *Chat) UpdateNickname(ctx context.Context, nickname string) (*Response, error) {
	f := ch.form()
	f.add("nickname", nickname)
	return ch.call(ctx, "updateNickname", f)
}

// ReadReceipt tells the agent the customer has read up to and including
// index position (0: everything so far).
func (ch *Chat) ReadReceipt(ctx context.Context, position int) (*Response, error) {
	f := ch.form()
	if position > 0 {
		f.addInt("transcriptPosition", position)
	}
	return ch.call(ctx, "readReceipt", f)
}

// Disconnect makes the customer leave the chat.
func (ch *Chat) Disconnect(ctx context.Context) (*Response, error) {
	return ch.call(ctx, "disconnect", ch.form())
}

// FileLimits asks for the customer's file-transfer limits; they are in the
// UserData of the answer's one message.
func (ch *Chat) FileLimits(ctx context.Context) (*Response, error) {
	return ch.call(ctx, "file/limits", ch.form())
}

// form starts a request body with the session fields.
func (ch *Chat) form() *form {
	f := newForm()
	f.add("userId", ch.UserID)
	f.add("secureKey", ch.SecureKey)
	f.addAlways("alias", ch.Alias())
	return f
}

func (ch *Chat) url(op string) string { return ch.c.base() + ch.path(op) }

func (ch *Chat) path(op string) string {
	return "/" + url.PathEscape(ch.Service) + "/" + url.PathEscape(ch.ID) + "/" + op
}

func (ch *Chat) call(ctx context.Context, op string, f *form) (*Response, error) {
	resp, err := ch.c.post(ctx, ch.path(op), f)
	if resp != nil && resp.Alias != "" {
		ch.mu.Lock()
		ch.alias = resp.Alias
		ch.mu.Unlock()
	}
	return resp, err
}

// post sends a form to the current node's base URL plus path and decodes
// the answer, moving to the next node on a connection failure or a 502 or
// 503 while there are others to try.
func (c *Client) post(ctx context.Context, path string, f *form) (*Response, error) {
	body := f.String()
	for tries := 1; ; tries++ {
		at := c.cur.Load()
		resp, err := c.postOnce(ctx, int(at)%len(c.bases), path, body)
		if tries >= len(c.bases) || !failover(err) || ctx.Err() != nil {
			return resp, err
		}
		c.cur.CompareAndSwap(at, at+1)
	}
}

// failover reports whether err means the node is gone or cannot serve:
// a connection failure, or a 502 or 503 answer.
func failover(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == 0 && (ae.HTTPStatus == http.StatusBadGateway || ae.HTTPStatus == http.StatusServiceUnavailable)
	}
	return true
}

func (c *Client) postOnce(ctx context.Context, node int, path, body string) (*Response, error) {
	req, err := c.newPost(ctx, node, path, body)
	if err != nil {
		return nil, fmt.Errorf("chatv2: %w", err)
	}
	hr, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("chatv2: POST %s: %w", c.bases[node]+path, err)
	}
	bp := c.bodies.Get().(*[]byte)
	defer func() {
		io.Copy(io.Discard, hr.Body) // let the connection be reused
		hr.Body.Close()
		c.bodies.Put(bp)
	}()
	var resp Response
	data, derr := readbuf.Append(hr.Body, (*bp)[:0])
	*bp = data
	if derr == nil {
		derr = decodeResponse(data, &resp, true)
	}
	if hr.StatusCode != http.StatusOK {
		return nil, &APIError{HTTPStatus: hr.StatusCode, Problems: resp.Errors}
	}
	if derr != nil {
		return nil, fmt.Errorf("chatv2: POST %s: decode answer: %w", c.bases[node]+path, derr)
	}
	if resp.StatusCode != 0 {
		return &resp, &APIError{HTTPStatus: hr.StatusCode, StatusCode: resp.StatusCode, ChatEnded: resp.ChatEnded, Problems: resp.Errors}
	}
	return &resp, nil
}

// do sends a call, straight to the Transport where the http.Client adds
// nothing to it (directcall).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	return directcall.Do(c.hc, req)
}

// newPost builds the POST of body to the base URL of node plus path: from
// the base parsed once when path needs no escaping, as
// http.NewRequestWithContext(ctx, "POST", base+path, strings.NewReader(body))
// would build it otherwise.
func (c *Client) newPost(ctx context.Context, node int, path, body string) (*http.Request, error) {
	base := c.parsed[node]
	if base == nil || strings.ContainsAny(path, "%?#") {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.bases[node]+path, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header = c.header
		return req, nil
	}
	nu := *base
	nu.Path += path
	r := http.Request{Method: http.MethodPost, URL: &nu, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.header, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Host: nu.Host,
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
	if body == "" {
		r.Body, r.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	return r.WithContext(ctx), nil
}

// form builds an application/x-www-form-urlencoded body the way browser
// widgets do, userData[key] brackets percent-encoded.
type form struct{ b strings.Builder }

func newForm() *form {
	f := &form{}
	f.b.Grow(256) // a send's fields and text in one allocation
	return f
}

// add appends a field unless its value is empty.
func (f *form) add(name, value string) {
	if value != "" {
		f.addAlways(name, value)
	}
}

func (f *form) addAlways(name, value string) {
	if f.b.Len() > 0 {
		f.b.WriteByte('&')
	}
	writeQueryEscaped(&f.b, name)
	f.b.WriteByte('=')
	writeQueryEscaped(&f.b, value)
}

func (f *form) addInt(name string, v int) { f.addAlways(name, strconv.Itoa(v)) }

func (f *form) userData(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.addAlways("userData["+k+"]", m[k])
	}
}

func (f *form) attrs(m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("chatv2: encode eventAttributes: %w", err)
	}
	f.addAlways("eventAttributes", string(b))
	return nil
}

func (f *form) String() string { return f.b.String() }
