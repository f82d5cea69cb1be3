package agent

import (
	"encoding/json"
	"strconv"
)

// encodeRequest writes req as json.Marshal does. A request without user
// data or event attributes whose strings need no escaping (the sends of a
// desktop or a load generator) is written by hand; any other goes through
// encoding/json.
func encodeRequest(req *Request) ([]byte, error) {
	if req.UserData != nil || req.EventAttributes != nil {
		return json.Marshal(req)
	}
	fields := [...]struct {
		name, v string
		always  bool
	}{
		{"id", req.ID, true}, {"op", req.Op, true}, {"queue", req.Queue, false},
		{"interactionId", req.InteractionID, false}, {"sessionId", req.SessionID, false},
		{"userType", req.UserType, false}, {"visibility", req.Visibility, false},
		{"nickname", req.Nickname, false}, {"text", req.Text, false}, {"msgType", req.MsgType, false},
		{"treatAs", req.TreatAs, false}, {"receiverId", req.ReceiverID, false},
		{"noticeType", req.NoticeType, false}, {"afterAction", req.AfterAction, false},
		{"state", req.State, false}, {"reason", req.Reason, false}, {"to", req.To, false},
		{"workbin", req.Workbin, false},
	}
	n := 32
	for i := range fields {
		if !plain(fields[i].v) {
			return json.Marshal(req)
		}
		n += len(fields[i].name) + len(fields[i].v) + 6
	}
	if !plain(req.After) || !plain(req.UserID) {
		return json.Marshal(req)
	}
	b := make([]byte, 0, n+len(req.After)+len(req.UserID)+48)
	b = append(b, '{')
	for i := range fields {
		f := &fields[i]
		if f.v == "" && !f.always {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":"`...)
		b = append(b, f.v...)
		b = append(b, '"')
	}
	if req.Limit != 0 {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(req.Limit), 10)
	}
	if req.After != "" {
		b = append(b, `,"after":"`...)
		b = append(b, req.After...)
		b = append(b, '"')
	}
	if req.UserID != "" {
		b = append(b, `,"userId":"`...)
		b = append(b, req.UserID...)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// plain reports whether encoding/json writes s as it is between quotes:
// printable ASCII without the characters it escapes (", \ and, as HTML
// characters, <, > and &).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
