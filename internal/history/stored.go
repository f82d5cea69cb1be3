package history

import (
	"reflect"
	"slices"
	"strings"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/jsonw"
)

// The intermediate transcript's events are encoded on the message path
// (by the store's writer, deferred.go; before, under the session's lock),
// so they are written by hand, without reflection: the bytes are those
// json.Marshal gives for a storedEvent (TestAppendStoredMatchesEncodingJSON
// compares them), at a fraction of its cost and with one allocation, the
// row's own bytes.

// appendStored appends the stored form of ev (already the stored copy) and,
// on a session's first event, its header. ok is false when a value needs
// encoding/json after all (a time outside years 0–9999, a key-value list
// holding another type).
func appendStored(dst []byte, ev *chat.Event, h *Header) (_ []byte, ok bool) {
	dst = append(dst, `{"pos":`...)
	dst = jsonw.Int(dst, int64(ev.Pos))
	dst = append(dst, `,"eventId":`...)
	dst = jsonw.Int(dst, int64(ev.ID()))
	dst = append(dst, `,"kind":`...)
	dst = jsonw.String(dst, ev.Kind.String())
	dst = append(dst, `,"utcTime":`...)
	dst = jsonw.Int(dst, ev.Time.UnixMilli())
	// timeShift is 0 in the intermediate copy (omitted): the session start
	// is not at hand; the final transcript recomputes it.
	dst = append(dst, `,"userId":`...)
	dst = jsonw.String(dst, ev.From.UserID)
	dst = append(dst, `,"participantId":`...)
	dst = jsonw.Int(dst, int64(ev.From.Num))
	dst = append(dst, `,"userNick":`...)
	dst = jsonw.String(dst, ev.From.Nick)
	dst = append(dst, `,"userType":`...)
	dst = jsonw.String(dst, ev.From.Type.String())
	if ev.From.Bot {
		dst = append(dst, `,"bot":true`...)
	}
	str := func(name, v string) {
		if v != "" {
			dst = jsonw.Key(dst, false, name)
			dst = jsonw.String(dst, v)
		}
	}
	if ev.Kind == chat.NewParty {
		str("personId", ev.From.PersonID)
	}
	dst = append(dst, `,"visibility":`...)
	dst = jsonw.String(dst, ev.Visibility.String())
	str("receiverId", ev.ReceiverID)
	str("text", ev.Text)
	str("msgType", ev.MsgType)
	str("treatAs", ev.TreatAs)
	switch ev.Kind {
	case chat.Notice:
		str("noticeType", ev.Notice.String())
	case chat.PartyLeft:
		dst = append(dst, `,"reason":`...)
		dst = jsonw.Int(dst, int64(ev.Reason))
	}
	str("askerId", ev.AskerID)
	if len(ev.UserData) > 0 {
		dst = jsonw.Key(dst, false, "userData")
		if dst, ok = jsonw.Map(dst, ev.UserData); !ok {
			return dst, false
		}
	}
	if len(ev.Attrs) > 0 {
		dst = jsonw.Key(dst, false, "eventAttributes")
		if dst, ok = jsonw.Map(dst, ev.Attrs); !ok {
			return dst, false
		}
	}
	str("clientMessageId", ev.ClientMsgID)
	if h != nil {
		if dst, ok = appendHeader(append(dst, `,"session":`...), h); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

func appendHeader(dst []byte, h *Header) (_ []byte, ok bool) {
	dst = append(dst, `{"tenant":`...)
	dst = jsonw.String(dst, h.Tenant)
	dst = append(dst, `,"endpoint":`...)
	dst = jsonw.String(dst, h.Endpoint)
	dst = append(dst, `,"queue":`...)
	dst = jsonw.String(dst, h.Queue)
	str := func(name, v string) {
		if v != "" {
			dst = jsonw.Key(dst, false, name)
			dst = jsonw.String(dst, v)
		}
	}
	str("subject", h.Subject)
	str("language", h.Language)
	if h.Async {
		dst = append(dst, `,"async":true`...)
	}
	str("password", h.Password)
	dst = append(dst, `,"createdAt":`...)
	dst = jsonw.String(dst, h.CreatedAt)
	if len(h.UserData) > 0 {
		dst = jsonw.Key(dst, false, "userData")
		if dst, ok = jsonw.Map(dst, h.UserData); !ok {
			return dst, false
		}
	}
	str("secret", h.Secret)
	str("service", h.Service)
	return append(dst, '}'), true
}

// storedLayoutKnown reports whether Event and Header have exactly the fields
// appendStored writes; a field added to either turns the hand-made path off
// (every event then goes through encoding/json, so none loses the field)
// and fails TestAppendStoredMatchesEncodingJSON until appendStored learns it.
func storedLayoutKnown() bool {
	return slices.Equal(jsonNames(reflect.TypeFor[Event]()), knownEventFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[Header]()), knownHeaderFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[finalHead]()), knownFinalHeadFields) &&
		slices.Equal(jsonNames(reflect.TypeFor[Transcript]()), append(slices.Clip(knownFinalHeadFields), "events")) &&
		slices.Equal(jsonNames(reflect.TypeFor[Party]()), knownPartyFields)
}

var (
	knownEventFields = []string{"pos", "eventId", "kind", "utcTime", "timeShift", "userId",
		"participantId", "userNick", "userType", "bot", "personId", "visibility", "receiverId",
		"text", "msgType", "treatAs", "noticeType", "reason", "askerId", "userData",
		"eventAttributes", "clientMessageId"}
	knownHeaderFields = []string{"tenant", "endpoint", "queue", "subject", "language", "async",
		"password", "createdAt", "userData", "secret", "service"}
	knownFinalHeadFields = []string{"sessionId", "startAt", "closedAt", "subject", "language", "async",
		"monitored", "participants"}
	knownPartyFields = []string{"userId", "participantId", "userNick", "originalNick", "userType",
		"visibility", "bot", "protocolType", "personId", "joinedAt", "leftAt"}
)

func jsonNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// storedSize estimates an event's stored size, so its row is allocated once.
func storedSize(ev *chat.Event, h *Header) int {
	n := 224 + len(ev.Text) + len(ev.From.Nick) + len(ev.ClientMsgID) + ev.UserData.Size() + ev.Attrs.Size()
	if h != nil {
		n += 256 + h.UserData.Size() + len(h.Subject)
	}
	return n
}

// encodeStored encodes the intermediate copy of ev (masked where
// apply-area masks it) with the session's header on its first event.
func (j *Journal) encodeStored(ev *chat.Event, h *Header) ([]byte, error) {
	st := ev.ForStore(false)
	if j.fastEncode {
		if b, ok := appendStored(make([]byte, 0, storedSize(st, h)), st, h); ok {
			return b, nil
		}
	}
	return encodeStored(ev, h)
}
