package agent

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/jsonw"
)

// encodeFrame returns f's JSON: the bytes json.Marshal gives, written
// without reflection for the frames of the message path (results, errors,
// events, states) and by encoding/json for the rest (hello, offers, lists,
// history). dst is reused.
//
// fast is whether the wire types have exactly the fields appendFrame knows
// (wireLayoutKnown): a field added to the protocol turns the hand-made path
// off, so no frame ever loses a field (and TestEncodeFrameMatchesEncodingJSON
// fails until appendFrame learns it).
func encodeFrame(dst []byte, f *wire.Frame, fast bool) ([]byte, error) {
	if fast && len(f.Interactions) == 0 && f.Agent == nil && len(f.History) == 0 {
		if b, ok := appendFrame(dst[:0], f); ok {
			return b, nil
		}
	}
	g := *f // only this path's copy escapes (to encoding/json), not the caller's frame
	b, err := json.Marshal(&g)
	if err != nil {
		return dst[:0], err
	}
	return append(dst[:0], b...), nil
}

// appendFrame writes the fields of wire.Frame in its declaration order with
// its omitempty rules; the fields it cannot write (Interactions, Agent,
// History) must be empty. ok is false when a value
// needs encoding/json after all.
func appendFrame(dst []byte, f *wire.Frame) (_ []byte, ok bool) {
	dst = append(dst, `{"type":`...)
	dst = jsonw.String(dst, f.Type)
	str := func(name, v string) {
		if v != "" {
			dst = jsonw.Key(dst, false, name)
			dst = jsonw.String(dst, v)
		}
	}
	num := func(name string, v int) {
		if v != 0 {
			dst = jsonw.Key(dst, false, name)
			dst = jsonw.Int(dst, int64(v))
		}
	}
	flag := func(name string, v bool) {
		if v {
			dst = jsonw.Key(dst, false, name)
			dst = append(dst, "true"...)
		}
	}
	str("id", f.ID)
	str("op", f.Op)
	flag("duplicate", f.Duplicate)
	num("code", f.Code)
	str("error", f.Error)
	str("message", f.Message)
	str("field", f.Field)
	str("sessionId", f.SessionID)
	str("userId", f.UserID)
	if f.Pos != nil {
		dst = jsonw.Key(dst, false, "pos")
		dst = jsonw.Int(dst, int64(*f.Pos))
	}
	num("eventId", f.EventID)
	if f.Time != nil {
		dst = jsonw.Key(dst, false, "time")
		if dst, ok = jsonw.Time(dst, *f.Time); !ok {
			return dst, false
		}
	}
	flag("closed", f.Closed)
	if f.Interaction != nil {
		dst = jsonw.Key(dst, false, "interaction")
		if dst, ok = appendInteraction(dst, f.Interaction); !ok {
			return dst, false
		}
	}
	str("node", f.Node)
	str("url", f.URL)
	flag("restored", f.Restored)
	str("webapiToken", f.WebapiToken)
	if len(f.Events) > 0 {
		dst = jsonw.Key(dst, false, "events")
		dst = append(dst, '[')
		for i := range f.Events {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendEvent(dst, &f.Events[i]); !ok {
				return dst, false
			}
		}
		dst = append(dst, ']')
	}
	flag("replay", f.Replay)
	num("next", f.Next)
	str("state", f.State)
	num("maxFrameSize", f.MaxFrameSize)
	str("interactionId", f.InteractionID)
	str("offerKind", f.OfferKind)
	if f.ExpiresAt != nil {
		dst = jsonw.Key(dst, false, "expiresAt")
		if dst, ok = jsonw.Time(dst, *f.ExpiresAt); !ok {
			return dst, false
		}
	}
	str("from", f.From)
	str("visibility", f.Visibility)
	str("result", f.Result)
	str("by", f.By)
	str("agentState", f.AgentState)
	str("reason", f.Reason)
	str("contactId", f.ContactID)
	str("nextAfter", f.NextAfter)
	return append(dst, '}'), true
}

// appendInteraction writes one wire.Interaction as encoding/json does (an
// accept's answer carries one).
func appendInteraction(dst []byte, x *wire.Interaction) (_ []byte, ok bool) {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, x.ID)
	dst = append(dst, `,"sessionId":`...)
	dst = jsonw.String(dst, x.SessionID)
	dst = append(dst, `,"tenant":`...)
	dst = jsonw.String(dst, x.Tenant)
	dst = append(dst, `,"endpoint":`...)
	dst = jsonw.String(dst, x.Endpoint)
	dst = append(dst, `,"queue":`...)
	dst = jsonw.String(dst, x.Queue)
	if x.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = jsonw.String(dst, x.Subject)
	}
	dst = append(dst, `,"state":`...)
	dst = jsonw.String(dst, x.State)
	dst = append(dst, `,"online":`...)
	dst = jsonw.Bool(dst, x.Online)
	dst = append(dst, `,"async":`...)
	dst = jsonw.Bool(dst, x.Async)
	if x.AsyncStatus != 0 {
		dst = append(dst, `,"asyncStatus":`...)
		dst = jsonw.Int(dst, int64(x.AsyncStatus))
	}
	if x.AgentID != "" {
		dst = append(dst, `,"agentId":`...)
		dst = jsonw.String(dst, x.AgentID)
	}
	dst = append(dst, `,"userData":`...)
	if dst, ok = jsonw.Map(dst, x.UserData); !ok {
		return dst, false
	}
	dst = append(dst, `,"createdAt":`...)
	if dst, ok = jsonw.Time(dst, x.CreatedAt); !ok {
		return dst, false
	}
	if !x.ClosedAt.IsZero() {
		dst = append(dst, `,"closedAt":`...)
		if dst, ok = jsonw.Time(dst, x.ClosedAt); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendEvent writes one wire.Event as encoding/json does.
func appendEvent(dst []byte, e *wire.Event) (_ []byte, ok bool) {
	dst = append(dst, `{"pos":`...)
	dst = jsonw.Int(dst, int64(e.Pos))
	dst = append(dst, `,"eventId":`...)
	dst = jsonw.Int(dst, int64(e.EventID))
	dst = append(dst, `,"kind":`...)
	dst = jsonw.String(dst, e.Kind)
	dst = append(dst, `,"time":`...)
	if dst, ok = jsonw.Time(dst, e.Time); !ok {
		return dst, false
	}
	dst = append(dst, `,"timeShift":`...)
	dst = jsonw.Int(dst, int64(e.TimeShift))
	dst = append(dst, `,"from":{`...)
	first := true
	if e.From.UserID != "" {
		dst = jsonw.Key(dst, true, "userId")
		dst = jsonw.String(dst, e.From.UserID)
		first = false
	}
	if e.From.Num != 0 {
		dst = jsonw.Key(dst, first, "num")
		dst = jsonw.Int(dst, int64(e.From.Num))
		first = false
	}
	dst = jsonw.Key(dst, first, "nickname")
	dst = jsonw.String(dst, e.From.Nickname)
	dst = append(dst, `,"userType":`...)
	dst = jsonw.String(dst, e.From.UserType)
	if e.From.Bot {
		dst = append(dst, `,"bot":true`...)
	}
	dst = append(dst, `},"visibility":`...)
	dst = jsonw.String(dst, e.Visibility)
	str := func(name, v string) {
		if v != "" {
			dst = jsonw.Key(dst, false, name)
			dst = jsonw.String(dst, v)
		}
	}
	str("receiverId", e.ReceiverID)
	str("text", e.Text)
	str("msgType", e.MsgType)
	str("treatAs", e.TreatAs)
	str("noticeType", e.NoticeType)
	if e.Reason != nil {
		dst = append(dst, `,"reason":{"code":`...)
		dst = jsonw.Int(dst, int64(e.Reason.Code))
		dst = append(dst, `,"text":`...)
		dst = jsonw.String(dst, e.Reason.Text)
		dst = append(dst, '}')
	}
	str("askerId", e.AskerID)
	if len(e.UserData) > 0 {
		dst = jsonw.Key(dst, false, "userData")
		if dst, ok = jsonw.Map(dst, e.UserData); !ok {
			return dst, false
		}
	}
	if len(e.EventAttributes) > 0 {
		dst = jsonw.Key(dst, false, "eventAttributes")
		if dst, ok = jsonw.Map(dst, e.EventAttributes); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// maxPooledFrame bounds the frame buffers kept for reuse.
const maxPooledFrame = 64 << 10

func (h *Handler) getBuf() *[]byte {
	if b, ok := h.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 1024)
	return &b
}

func (h *Handler) putBuf(b *[]byte) {
	if cap(*b) > maxPooledFrame {
		return
	}
	*b = (*b)[:0]
	h.bufs.Put(b)
}

// The JSON names of the fields of wire.Frame, wire.Event, wire.Party and
// wire.Reason, in declaration order, that appendFrame and appendEvent
// write.
var (
	knownFrameFields = []string{"type", "id", "op", "duplicate", "code", "error", "message", "field",
		"sessionId", "userId", "pos", "eventId", "time", "closed", "interactions", "interaction",
		"node", "url", "restored", "webapiToken", "events", "replay", "next", "state", "agent", "maxFrameSize", "interactionId", "offerKind",
		"expiresAt", "from", "visibility", "result", "by", "agentState", "reason", "history",
		"contactId", "nextAfter"}
	knownEventFields = []string{"pos", "eventId", "kind", "time", "timeShift", "from", "visibility",
		"receiverId", "text", "msgType", "treatAs", "noticeType", "reason", "askerId", "userData",
		"eventAttributes"}
	knownInteractionFields = []string{"id", "sessionId", "tenant", "endpoint", "queue", "subject", "state",
		"online", "async", "asyncStatus", "agentId", "userData", "createdAt", "closedAt"}
	knownPartyFields  = []string{"userId", "num", "nickname", "userType", "bot"}
	knownReasonFields = []string{"code", "text"}
)

// wireLayoutKnown reports whether the wire types are the ones the
// hand-made encoder was written for.
func wireLayoutKnown() bool {
	return slices.Equal(jsonNames(reflect.TypeFor[wire.Frame]()), knownFrameFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[wire.Event]()), knownEventFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[wire.Interaction]()), knownInteractionFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[wire.Party]()), knownPartyFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[wire.Reason]()), knownReasonFields)
}

func jsonNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}
