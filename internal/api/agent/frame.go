package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/validate"
)

// request is a decoded client frame.
type request struct {
	ID              string          `json:"id"`
	Op              string          `json:"op"`
	Queue           string          `json:"queue"`
	InteractionID   string          `json:"interactionId"`
	SessionID       string          `json:"sessionId"`
	UserType        string          `json:"userType"`
	Visibility      string          `json:"visibility"`
	Nickname        string          `json:"nickname"`
	UserData        json.RawMessage `json:"userData"`
	Text            string          `json:"text"`
	MsgType         string          `json:"msgType"`
	TreatAs         string          `json:"treatAs"`
	ReceiverID      string          `json:"receiverId"`
	NoticeType      string          `json:"noticeType"`
	EventAttributes json.RawMessage `json:"eventAttributes"`
	AfterAction     string          `json:"afterAction"`
	State           string          `json:"state"`
	Reason          string          `json:"reason"`
	To              string          `json:"to"`
	Workbin         string          `json:"workbin"`
	Limit           int             `json:"limit"`
	After           string          `json:"after"`
	UserID          string          `json:"userId"`

	raw      []byte // the frame as it came (relayed to another node)
	userData kv.Map
	attrs    kv.Map
}

// opError is a refusal to send back in an error frame.
type opError struct {
	code  int
	field string
	msg   string
}

func (e *opError) Error() string { return e.msg }

func fail(code int, field, format string, args ...any) *opError {
	return &opError{code: code, field: field, msg: fmt.Sprintf(format, args...)}
}

// maxIDLen bounds request ids.
const maxIDLen = 128

var knownOps = map[string]bool{
	wire.OpList: true, wire.OpAccept: true, wire.OpJoin: true, wire.OpSend: true,
	wire.OpNotify: true, wire.OpRelease: true, wire.OpPing: true,
	wire.OpState: true, wire.OpReject: true, wire.OpTransfer: true, wire.OpInvite: true,
	wire.OpMonitor: true, wire.OpCoach: true, wire.OpBargeIn: true, wire.OpHold: true,
	wire.OpWorkbin: true, wire.OpHistory: true,
}

// decodeRequest decodes one client frame. On failure it still returns the
// id and op when they could be read, so the error frame can echo them.
func decodeRequest(data []byte) (request, *opError) {
	var req request
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return req, fail(wire.CodeBadFrame, "", "a frame must be one JSON object")
	}
	if kv.JSONDepth(data, kv.MaxDepth+1) > kv.MaxDepth+1 {
		req.ID, req.Op = topLevelString(data, "id"), topLevelString(data, "op")
		if len(req.ID) > maxIDLen {
			req.ID = ""
		}
		return req, fail(wire.CodeBadRequest, "", "the frame is nested deeper than %d levels (userData and eventAttributes at most %d)", kv.MaxDepth+1, kv.MaxDepth)
	}
	if !validate.JSONText(data) {
		salvage(data, &req)
		f := badUTF8Field(data)
		return req, fail(wire.CodeBadRequest, f, "%s: %s", f, validate.ReasonUTF8)
	}
	if !decodeFast(data, &req) { // decode.go: the message path's frames
		slow := new(request) // on the heap only here: encoding/json takes a pointer
		ferr := decodeJSON(data, slow)
		req = *slow
		if ferr != nil {
			return req, ferr
		}
	}
	switch {
	case req.ID == "":
		return req, fail(wire.CodeBadRequest, "id", "id is required")
	case len(req.ID) > maxIDLen:
		return req, fail(wire.CodeBadRequest, "id", "id is longer than %d bytes", maxIDLen)
	case req.Op == "":
		return req, fail(wire.CodeBadRequest, "op", "op is required")
	case !knownOps[req.Op]:
		return req, fail(wire.CodeUnknownOp, "op", "unknown op %q", req.Op)
	}
	var ferr *opError
	if req.userData, ferr = decodeKV(req.UserData, "userData"); ferr != nil {
		return req, ferr
	}
	if req.attrs, ferr = decodeKV(req.EventAttributes, "eventAttributes"); ferr != nil {
		return req, ferr
	}
	return req, nil
}

// decodeJSON decodes a frame with encoding/json: unknown fields refused,
// nothing after the object.
func decodeJSON(data []byte, req *request) *opError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(req)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the object")
	}
	if err != nil {
		salvage(data, req)
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return fail(wire.CodeBadRequest, te.Field, "field %s must be %s", te.Field, kindOf(te.Field))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fail(wire.CodeBadRequest, f, "unknown field %q", f)
		}
		return fail(wire.CodeBadFrame, "", "malformed JSON: %v", err)
	}
	return nil
}

func kindOf(field string) string {
	switch field {
	case "userData", "eventAttributes":
		return "an object"
	case "limit":
		return "a whole number"
	}
	return "a string"
}

// badUTF8Field names the first field (in name order) of a frame whose
// value is not valid UTF-8, or "" when the frame cannot be split in fields.
func badUTF8Field(data []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return ""
	}
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if !validate.JSONText(v) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// topLevelString finds the string value of key at the top level of a JSON
// object without decoding the rest (used on frames too deep to decode);
// escapes in the value are not undone, and "" means not found.
func topLevelString(data []byte, key string) string {
	depth, inString, start := 0, false, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
				if depth == 1 && string(data[start:i]) == key {
					rest := bytes.TrimLeft(data[i+1:], " \t\r\n")
					if len(rest) > 0 && rest[0] == ':' {
						rest = bytes.TrimLeft(rest[1:], " \t\r\n")
						if len(rest) > 0 && rest[0] == '"' {
							if end := bytes.IndexByte(rest[1:], '"'); end >= 0 {
								return string(rest[1 : 1+end])
							}
						}
					}
				}
			}
		case c == '"':
			inString, start = true, i+1
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return ""
}

// salvage reads id and op from a frame that failed to decode, if it can.
func salvage(data []byte, req *request) {
	var loose struct {
		ID any `json:"id"`
		Op any `json:"op"`
	}
	if json.Unmarshal(data, &loose) == nil {
		req.ID, _ = loose.ID.(string)
		req.Op, _ = loose.Op.(string)
		if len(req.ID) > maxIDLen {
			req.ID = ""
		}
	}
}

// decodeKV decodes a nested key-value list given as a JSON object.
func decodeKV(raw json.RawMessage, field string) (kv.Map, *opError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	m, err := kv.FromJSON(raw)
	if err != nil {
		return nil, fail(wire.CodeBadRequest, field, "%s must be a JSON object of strings and objects", field)
	}
	return m, nil
}

// encodeEvent turns a transcript event into its wire form.
func encodeEvent(ev *chat.Event, start time.Time) wire.Event {
	e := wire.Event{
		Pos: ev.Pos, EventID: ev.ID(), Kind: ev.Kind.String(), Time: ev.Time.UTC(),
		TimeShift: int(ev.Time.Sub(start) / time.Second),
		From: wire.Party{UserID: ev.From.UserID, Num: ev.From.Num, Nickname: ev.From.Nick,
			UserType: ev.From.Type.String(), Bot: ev.From.Bot},
		Visibility: ev.Visibility.String(), ReceiverID: ev.ReceiverID, Text: ev.Text,
		MsgType: ev.MsgType, TreatAs: ev.TreatAs, AskerID: ev.AskerID,
	}
	switch ev.Kind {
	case chat.Notice:
		e.NoticeType = ev.Notice.String()
	case chat.PartyLeft:
		e.Reason = &wire.Reason{Code: int(ev.Reason), Text: ev.Reason.Text()}
	}
	if len(ev.UserData) > 0 {
		e.UserData = ev.UserData
	}
	if len(ev.Attrs) > 0 {
		e.EventAttributes = ev.Attrs
	}
	return e
}

// encodeInteraction turns a routing snapshot into its wire form.
func encodeInteraction(v routing.Interaction) wire.Interaction {
	return wire.Interaction{
		ID: v.ID, SessionID: v.SessionID, Tenant: v.Tenant, Endpoint: v.Endpoint, Queue: v.Queue,
		Subject: v.Subject, State: string(v.State), Online: v.Online, Async: v.Async,
		AsyncStatus: v.AsyncStatus, AgentID: v.AgentID, UserData: v.UserData,
		CreatedAt: v.CreatedAt, ClosedAt: v.ClosedAt,
	}
}

// encodeNotice turns a routing notice into its frame.
func encodeNotice(n routing.Notice) wire.Frame {
	switch n.Type {
	case routing.NoticeOffer:
		o := n.Offer
		ix := encodeInteraction(o.Interaction)
		exp := o.ExpiresAt.UTC()
		f := wire.Frame{Type: wire.FrameOffer, InteractionID: n.InteractionID, SessionID: o.Interaction.SessionID,
			OfferKind: string(o.Kind), Interaction: &ix, ExpiresAt: &exp, From: o.From}
		if o.Kind == routing.OfferInvite || o.Kind == routing.OfferTransfer {
			f.Visibility = o.Visibility.String()
		}
		return f
	case routing.NoticeState:
		return wire.Frame{Type: wire.FrameState, AgentState: string(n.State), Reason: n.Reason}
	case routing.NoticeRevoked:
		return wire.Frame{Type: wire.FrameRevoked, InteractionID: n.InteractionID, SessionID: n.InteractionID, Result: n.Result}
	case routing.NoticeTransfer:
		return wire.Frame{Type: wire.FrameTransfer, InteractionID: n.InteractionID, SessionID: n.InteractionID, Result: n.Result, By: n.By}
	}
	return wire.Frame{Type: wire.FrameInvite, InteractionID: n.InteractionID, SessionID: n.InteractionID, Result: n.Result, By: n.By}
}

// errorFrame builds the error frame answering req.
func errorFrame(id, op string, e *opError) wire.Frame {
	return wire.Frame{Type: wire.FrameError, ID: id, Op: op, Code: e.code, Error: wire.ErrorNames[e.code], Message: e.msg, Field: e.field}
}

// classify maps an engine or router error onto an error code; field is the
// request field the error most likely concerns.
func classify(err error, field string) *opError {
	var oe *opError
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, chat.ErrNotFound):
		return fail(wire.CodeNoSession, "sessionId", "%v", err)
	case errors.Is(err, routing.ErrNotFound):
		return fail(wire.CodeNoIxn, "interactionId", "%v", err)
	case errors.Is(err, chat.ErrClosed), errors.Is(err, routing.ErrClosed):
		return fail(wire.CodeClosed, "", "%v", err)
	case errors.Is(err, routing.ErrTaken):
		return fail(wire.CodeTaken, "interactionId", "%v", err)
	case errors.Is(err, routing.ErrNotQueued):
		return fail(wire.CodeNotWaiting, "interactionId", "%v", err)
	case errors.Is(err, chat.ErrNotParticipant):
		return fail(wire.CodeNotJoined, "sessionId", "%v", err)
	case errors.Is(err, chat.ErrDuplicateUser):
		return fail(wire.CodeJoined, "sessionId", "%v", err)
	case errors.Is(err, chat.ErrPassword):
		return fail(wire.CodePassword, "userData", "%v", err)
	case errors.Is(err, chat.ErrVisibility):
		return fail(wire.CodeVisibility, "visibility", "%v", err)
	case errors.Is(err, chat.ErrLimit):
		return fail(wire.CodeLimit, "", "%v", err)
	case errors.Is(err, chat.ErrRate):
		return fail(wire.CodeRateLimited, "", "%v", err)
	case errors.Is(err, chat.ErrFull):
		return fail(wire.CodeSessionFull, "", "%v", err)
	case errors.Is(err, chat.ErrInvalid):
		return fail(wire.CodeBadRequest, field, "%v", err)
	case errors.Is(err, routing.ErrNoOffer):
		return fail(wire.CodeNoOffer, "interactionId", "%v", err)
	case errors.Is(err, routing.ErrOfferExpired):
		return fail(wire.CodeExpired, "interactionId", "%v", err)
	case errors.Is(err, routing.ErrOffered):
		return fail(wire.CodeOffered, "interactionId", "%v", err)
	case errors.Is(err, routing.ErrUnavailable):
		return fail(wire.CodeUnavailable, "to", "%v", err)
	case errors.Is(err, routing.ErrBusy):
		return fail(wire.CodeBusy, "sessionId", "%v", err)
	case errors.Is(err, routing.ErrNotPresent):
		return fail(wire.CodeNotJoined, "sessionId", "%v", err)
	case errors.Is(err, routing.ErrNotAsync):
		return fail(wire.CodeNotAsync, "sessionId", "%v", err)
	case errors.Is(err, routing.ErrLoggedIn):
		return fail(wire.CodeLoggedIn, "", "%v", err)
	case errors.Is(err, routing.ErrBadState):
		return fail(wire.CodeBadRequest, "state", "%v", err)
	case errors.Is(err, routing.ErrBadWorkbin):
		return fail(wire.CodeBadRequest, "workbin", "%v", err)
	}
	return fail(wire.CodeInternal, "", "%v", err)
}
