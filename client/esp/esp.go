// Package esp is the public Go side of Confab's workflow API, the HTTP form
// of the reference's External Service Protocol (service "Chat"): the reply
// and fault types, the fault codes, and a Client.
//
// A request is POST /esp/Chat/{Method} with a JSON object of string
// parameters and "Authorization: Bearer <[esp] token>". A success is HTTP
// 200 with a Reply; a failure is HTTP 4xx (5xx for server faults) with a
// Fault. See docs/esp.md.
package esp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Methods of service Chat, named as the reference names them.
const (
	MethodMessage              = "Message"
	MethodNotice               = "Notice"
	MethodPlaceOnHold          = "PlaceOnHold"
	MethodCloseSession         = "CloseSession"
	MethodGetSessionInfo       = "GetSessionInfo"
	MethodIdleControlConfigure = "IdleControlConfigure"
	MethodConfigureSession     = "ConfigureSession"
)

// Fault codes (Fault.FaultCode).
const (
	FaultBadRequest         = 1  // the body is not a JSON object of string parameters (HTTP 400)
	FaultUnauthorized       = 2  // missing or wrong bearer token (HTTP 401)
	FaultUnknownService     = 3  // the service is not Chat (HTTP 404)
	FaultUnknownMethod      = 4  // no such method (HTTP 404)
	FaultMissingParameter   = 5  // a mandatory parameter is absent or empty (HTTP 400)
	FaultInvalidParameter   = 6  // a parameter has a value out of its domain (HTTP 400)
	FaultUnknownInteraction = 7  // no session with that InteractionId on this node (HTTP 404)
	FaultSessionClosed      = 8  // the session has ended (HTTP 409)
	FaultNotAsync           = 9  // the method applies to async chats only (HTTP 409)
	FaultTooLarge           = 10 // the body is larger than xml-request-max-size (HTTP 413)
	FaultMethodNotAllowed   = 11 // not a POST (HTTP 405)
	FaultStorage            = 12 // applied, but the store did not confirm it (HTTP 503)
	FaultInternal           = 13 // a server fault (HTTP 500)

	// Faults of the [protection] bounds (numbered apart from the others).
	FaultRateLimited = 40 // the workflow party sends faster than party-send-rate (HTTP 429)
	FaultSessionFull = 41 // the session reached session-max-messages or -transcript-bytes (HTTP 409)
)

// TimeFormat is the layout of OccuredAt and SessionInfo.CreatedAt: UTC with
// milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Reply is a successful answer. Which keys are set depends on the method.
type Reply struct {
	// OccuredAt (the reference's spelling) is when the method was processed.
	OccuredAt string `json:"OccuredAt"`
	// ScriptPos is the 0-based transcript position of the message or
	// notice (Message, Notice).
	ScriptPos *int `json:"ScriptPos,omitempty"`
	// IsClosed is 1 when the session is closed, 0 when it is still alive
	// (CloseSession).
	IsClosed *int `json:"IsClosed,omitempty"`
	// SessionInfo is set by GetSessionInfo.
	SessionInfo *SessionInfo `json:"SessionInfo,omitempty"`
}

// SessionInfo describes a session.
type SessionInfo struct {
	CreatedAt  string `json:"CreatedAt"`
	IsRestored int    `json:"IsRestored"` // 1 if restored from another node
}

// Fault is a failed request.
type Fault struct {
	Status      int    `json:"-"` // the HTTP status
	FaultCode   int    `json:"FaultCode"`
	FaultString string `json:"FaultString"`
	// Parameter names the parameter at fault, if any.
	Parameter string `json:"Parameter,omitempty"`
}

func (f *Fault) Error() string {
	s := fmt.Sprintf("esp: HTTP %d fault %d: %s", f.Status, f.FaultCode, f.FaultString)
	if f.Parameter != "" {
		s += " [parameter " + f.Parameter + "]"
	}
	return s
}

// Params are a request's parameters; every value is a string.
type Params map[string]string

// Client calls the workflow API of one node.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a Client for the node whose "esp" port is at baseURL (e.g.
// http://127.0.0.1:8080), authenticating with token. hc nil means
// http.DefaultClient.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), token: token, hc: hc}
}

// Call invokes a method of service Chat. A failure is returned as *Fault
// when the server answered with one.
func (c *Client) Call(ctx context.Context, method string, p Params) (Reply, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return Reply{}, fmt.Errorf("esp: encode parameters: %w", err)
	}
	return c.CallRaw(ctx, method, body)
}

// CallRaw posts body as is (for tests of malformed input).
func (c *Client) CallRaw(ctx context.Context, method string, body []byte) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/esp/Chat/"+method, bytes.NewReader(body))
	if err != nil {
		return Reply{}, fmt.Errorf("esp: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.do(req)
	if err != nil {
		return Reply{}, fmt.Errorf("esp: %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Reply{}, fmt.Errorf("esp: %s: read reply: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		f := &Fault{Status: resp.StatusCode}
		if json.Unmarshal(data, f) != nil || f.FaultCode == 0 {
			f.FaultString = strings.TrimSpace(string(data))
		}
		return Reply{}, f
	}
	var r Reply
	if err := decodeReply(data, &r); err != nil {
		return Reply{}, fmt.Errorf("esp: %s: decode reply: %w", method, err)
	}
	return r, nil
}

func with(p Params, kv ...string) Params {
	out := Params{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Message adds a message from the workflow. extra may set MessageType,
// Nickname, Visibility and EventAttributes.
func (c *Client) Message(ctx context.Context, interactionID, text string, extra Params) (Reply, error) {
	return c.Call(ctx, MethodMessage, with(extra, "InteractionId", interactionID, "MessageText", text))
}

// Notice adds a notice (USER_PUSHED_URL or USER_CUSTOM) from the workflow.
// extra may set Nickname, Visibility and EventAttributes.
func (c *Client) Notice(ctx context.Context, interactionID, noticeType, text string, extra Params) (Reply, error) {
	return c.Call(ctx, MethodNotice, with(extra, "InteractionId", interactionID, "NoticeType", noticeType, "NoticeText", text))
}

// PlaceOnHold sets an async chat's GCTI_Chat_AsyncStatus to -2.
func (c *Client) PlaceOnHold(ctx context.Context, interactionID string) (Reply, error) {
	return c.Call(ctx, MethodPlaceOnHold, Params{"InteractionId": interactionID})
}

// CloseSession closes a session and reports whether it is closed.
func (c *Client) CloseSession(ctx context.Context, interactionID string, closeIfNoAgents, purge bool) (bool, error) {
	p := Params{"InteractionId": interactionID}
	if closeIfNoAgents {
		p["CloseIfNoAgents"] = "true"
	}
	if purge {
		p["Purge"] = "true"
	}
	r, err := c.Call(ctx, MethodCloseSession, p)
	return err == nil && r.IsClosed != nil && *r.IsClosed == 1, err
}

// GetSessionInfo reports when the session was created and whether it was
// restored.
func (c *Client) GetSessionInfo(ctx context.Context, interactionID string) (SessionInfo, error) {
	r, err := c.Call(ctx, MethodGetSessionInfo, Params{"InteractionId": interactionID})
	if err != nil {
		return SessionInfo{}, err
	}
	if r.SessionInfo == nil {
		return SessionInfo{}, fmt.Errorf("esp: GetSessionInfo: reply without SessionInfo")
	}
	return *r.SessionInfo, nil
}

// IdleControlConfigure changes the session's inactivity control; p holds
// at least one of reset-parameters, enabled, include-notices,
// message-alert, message-alert2, message-close, timeout-alert,
// timeout-alert2, timeout-close.
func (c *Client) IdleControlConfigure(ctx context.Context, interactionID string, p Params) (Reply, error) {
	return c.Call(ctx, MethodIdleControlConfigure, with(p, "InteractionId", interactionID))
}

// ConfigureSession changes the session's language or restarts its async
// idle timing; p holds at least one of async-idle-reset,
// GCTI_LanguageCode, GCTI_LanguageName.
func (c *Client) ConfigureSession(ctx context.Context, interactionID string, p Params) (Reply, error) {
	return c.Call(ctx, MethodConfigureSession, with(p, "InteractionId", interactionID))
}
