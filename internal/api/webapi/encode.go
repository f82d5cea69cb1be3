package webapi

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/jsonw"
	"github.com/confab/confab/internal/kv"
)

// body is the common response body every Chat API v2 answer carries (and
// every push frame). Empty identifiers are left out, so an error answer
// never overwrites a client's stored keys with empty strings.
type body struct {
	status    int // statusCode: 0 done, 1 try again, 2 will not work
	alias     string
	userID    string
	secureKey string
	chatID    string
	ended     bool // chatEnded, always written
	next      int  // nextPosition; 0 leaves it out
	events    []chat.Event
	errs      []apiError
	userData  kv.Map // top-level userData (file answers)
	// resyncFrom, when set, tells a push client it fell behind and must
	// catch up from this index (a Confab extension field).
	resyncFrom int
}

// Wire names of the thirteen event types.
const (
	typeJoined      = "ParticipantJoined"
	typeLeft        = "ParticipantLeft"
	typeMessage     = "Message"
	typeTyping      = "TypingStarted"
	typeTypingDone  = "TypingStopped"
	typePushURL     = "PushUrl"
	typeNotice      = "Notice"
	typeCustom      = "CustomNotice"
	typeNickname    = "NicknameUpdated"
	typeIdleAlert   = "IdleAlert"
	typeIdleClose   = "IdleClose"
	typeFileAdded   = "FileUploaded"
	typeFileRemoved = "FileDeleted"
)

// System command texts the customer API turns into file events.
const (
	cmdFileUploaded = "file-uploaded"
	cmdFileDeleted  = "file-deleted"
)

// wireType returns the Chat API v2 type of ev, or "" for the few engine
// events that have no customer-facing form (IDLE_CONTROL_SET and system
// commands other than read confirmations and file notices); those are left
// out of answers, which leaves a gap in the indexes but never reuses one.
// wireTypeFor is wireType as seen by the customer viewer: a customer's own
// read receipt is not echoed back to it (the agents see it; the customer
// already knows what it has read).
func wireTypeFor(ev *chat.Event, viewer string) string {
	if ev.Kind == chat.Notice && ev.Notice == chat.SysCommand && ev.Text == chat.ReadConfirm && ev.From.UserID == viewer {
		return ""
	}
	return wireType(ev)
}

func wireType(ev *chat.Event) string {
	switch ev.Kind {
	case chat.NewParty:
		return typeJoined
	case chat.PartyLeft:
		return typeLeft
	case chat.Message:
		return typeMessage
	}
	switch ev.Notice {
	case chat.TypingStarted:
		return typeTyping
	case chat.TypingStopped:
		return typeTypingDone
	case chat.PushURL:
		return typePushURL
	case chat.CustomNotice:
		if ev.From.Type == chat.System {
			return typeNotice // the server's own notices are meant to be shown
		}
		return typeCustom
	case chat.NickChanged:
		return typeNickname
	case chat.IdleAlert:
		return typeIdleAlert
	case chat.IdleClose:
		return typeIdleClose
	case chat.SysCommand:
		switch ev.Text {
		case chat.ReadConfirm:
			return typeCustom
		case cmdFileUploaded:
			return typeFileAdded
		case cmdFileDeleted:
			return typeFileRemoved
		}
	}
	return ""
}

// partyType returns from.type: the four party types of the reference; the
// server itself is reported as External, as the predecessor API did.
func partyType(t chat.UserType) string {
	switch t {
	case chat.Client:
		return "Client"
	case chat.Agent:
		return "Agent"
	case chat.Supervisor:
		return "Supervisor"
	}
	return "External"
}

// appendBody writes b as JSON.
func appendBody(dst []byte, b *body) []byte {
	dst = append(dst, `{"statusCode":`...)
	dst = strconv.AppendInt(dst, int64(b.status), 10)
	dst = appendField(dst, "alias", b.alias)
	dst = appendField(dst, "userId", b.userID)
	dst = appendField(dst, "secureKey", b.secureKey)
	dst = appendField(dst, "chatId", b.chatID)
	dst = append(dst, `,"chatEnded":`...)
	dst = strconv.AppendBool(dst, b.ended)
	if b.next > 0 {
		dst = append(dst, `,"nextPosition":`...)
		dst = strconv.AppendInt(dst, int64(b.next), 10)
	}
	dst = append(dst, `,"messages":[`...)
	first := true
	for i := range b.events {
		ev := &b.events[i]
		typ := wireTypeFor(ev, b.userID)
		if typ == "" {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendEvent(dst, ev, typ)
	}
	dst = append(dst, ']')
	if len(b.userData) > 0 {
		dst = append(dst, `,"userData":`...)
		dst = appendKV(dst, b.userData)
	}
	if len(b.errs) > 0 {
		dst = append(dst, `,"errors":`...)
		dst = appendErrors(dst, b.errs)
	}
	if b.resyncFrom > 0 {
		dst = append(dst, `,"resyncFrom":`...)
		dst = strconv.AppendInt(dst, int64(b.resyncFrom), 10)
	}
	return append(dst, '}')
}

func appendField(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return jsonw.String(dst, value)
}

// appendEvent writes one message object. Which optional fields appear
// depends on the type, as in the reference's event table: a join never
// shows the joiner's user data, typing notices carry only their preview.
func appendEvent(dst []byte, ev *chat.Event, typ string) []byte {
	nick := ev.From.Nick
	if ev.From.Type == chat.System && nick == "" {
		nick = "system"
	}
	dst = append(dst, `{"from":{"nickname":`...)
	dst = jsonw.String(dst, nick)
	dst = append(dst, `,"participantId":`...)
	dst = strconv.AppendInt(dst, int64(ev.From.Num), 10)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, partyType(ev.From.Type)...)
	dst = append(dst, `"},"index":`...)
	dst = strconv.AppendInt(dst, int64(ev.ID()), 10)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, '"')
	switch {
	case typ == typeMessage:
		dst = append(dst, `,"text":`...)
		dst = jsonw.String(dst, ev.Text)
	case typ == typeFileAdded || typ == typeFileRemoved || typ == typeTypingDone:
	case ev.Text != "":
		dst = append(dst, `,"text":`...)
		dst = jsonw.String(dst, ev.Text)
	}
	dst = append(dst, `,"utcTime":`...)
	dst = strconv.AppendInt(dst, ev.Time.UnixMilli(), 10)
	switch typ {
	case typeCustom, typeNotice, typeIdleAlert, typeIdleClose, typeFileAdded, typeFileRemoved:
		if len(ev.UserData) > 0 {
			dst = append(dst, `,"userData":`...)
			dst = appendKV(dst, ev.UserData)
		}
	}
	if typ == typeTyping || typ == typeTypingDone {
		return append(dst, '}')
	}
	attrs := ev.Attrs
	if typ == typeMessage && ev.From.Bot {
		attrs = withBotStyle(attrs)
	}
	if len(attrs) > 0 {
		dst = append(dst, `,"eventAttributes":`...)
		dst = appendKV(dst, attrs)
	}
	return append(dst, '}')
}

// withBotStyle adds GCTI_SYSTEM.party-info.style=BOT, the mark the widget
// uses to show a message as a bot's, unless attrs already carry a style.
func withBotStyle(attrs kv.Map) kv.Map {
	if attrs.Sub(chat.KeySystem).Sub("party-info").String("style") != "" {
		return attrs
	}
	out := attrs.Clone()
	if out == nil {
		out = kv.Map{}
	}
	out.Merge(kv.Map{chat.KeySystem: kv.Map{"party-info": kv.Map{"style": "BOT"}}})
	return out
}

func appendErrors(dst []byte, errs []apiError) []byte {
	dst = append(dst, '[')
	for i, e := range errs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"code":`...)
		dst = strconv.AppendInt(dst, int64(e.code), 10)
		dst = append(dst, `,"advice":`...)
		dst = jsonw.String(dst, e.advice)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendKV writes a kv.Map as a JSON object with sorted keys.
func appendKV(dst []byte, m kv.Map) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.String(dst, k)
		dst = append(dst, ':')
		switch v := m[k].(type) {
		case kv.Map:
			dst = appendKV(dst, v)
		case string:
			dst = jsonw.String(dst, v)
		default: // not produced by kv; written as an empty string
			dst = append(dst, `""`...)
		}
	}
	return append(dst, '}')
}

// Header values shared by every answer; net/http only reads them.
var (
	jsonType = []string{"application/json; charset=utf-8"}
	noStore  = []string{"no-store"}
)

// writeJSON sends a complete JSON answer. net/http adds Content-Length
// to small answers and chunks large ones.
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	w.Write(b) // an error means the client went away; nothing to do
}

// appendFailure writes the body of an HTTP 4xx answer: only the errors
// array, as the reference's validation answers.
func appendFailure(dst []byte, f *failure) []byte {
	dst = append(dst, `{"errors":`...)
	dst = appendErrors(dst, f.errs)
	return append(dst, '}')
}
