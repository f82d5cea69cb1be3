package agent

import (
	"encoding/json"
	"time"

	"github.com/confab/confab/client/internal/jsonscan"
)

// decodeFrame decodes a server frame into f without reflection when it can
// (client/internal/jsonscan: the fields of events, result and error frames
// are read by hand; the nested records of the rarer frames — interactions,
// the hello's account, history, user data — go to encoding/json one value
// at a time), and with encoding/json as a whole otherwise, so the result is
// always what json.Unmarshal gives.
func decodeFrame(data []byte, f *Frame) error {
	var sc jsonscan.Scanner
	sc.Reset(data)
	if scanFrame(&sc, f) && sc.End() {
		return nil
	}
	*f = Frame{}
	return json.Unmarshal(data, f)
}

// The JSON names of each type's fields, in the order of the scanners'
// cases: a key matching one only case-insensitively is left to
// encoding/json.
var (
	frameKeys = []string{"type", "id", "op", "duplicate", "code", "error", "message", "field",
		"sessionId", "userId", "pos", "eventId", "time", "closed", "interactions", "interaction",
		"node", "url", "restored", "webapiToken", "events", "replay", "next", "state", "agent",
		"maxFrameSize", "interactionId", "offerKind", "expiresAt", "from", "visibility", "result",
		"by", "agentState", "reason", "history", "contactId", "nextAfter"}
	eventKeys = []string{"pos", "eventId", "kind", "time", "timeShift", "from", "visibility",
		"receiverId", "text", "msgType", "treatAs", "noticeType", "reason", "askerId", "userData",
		"eventAttributes"}
	partyKeys       = []string{"userId", "num", "nickname", "userType", "bot"}
	interactionKeys = []string{"id", "sessionId", "tenant", "endpoint", "queue", "subject", "state",
		"online", "async", "asyncStatus", "agentId", "userData", "createdAt", "closedAt"}
	reasonKeys = []string{"code", "text"}
)

// keyBit returns the index of key in names (found by index, a switch),
// or len(names) after skipping the value of a key the type does not have
// (giving up when encoding/json would match it case-insensitively); it
// gives up on a key seen before in the same object.
func keyBit(sc *jsonscan.Scanner, key string, names []string, index func(string) int, mask *uint64) int {
	i := index(key)
	if i < len(names) {
		if *mask&(1<<uint(i)) != 0 {
			sc.Fail() // a duplicate: encoding/json merges or replaces
		}
		*mask |= 1 << uint(i)
		return i
	}
	if jsonscan.Folds(key, names) {
		sc.Fail()
	} else {
		sc.Skip()
	}
	return len(names)
}

// frameIndex, eventIndex and partyIndex return a key's index in
// frameKeys, eventKeys and partyKeys (TestKeyIndexes checks them).
func frameIndex(key string) int {
	switch key {
	case "type":
		return 0
	case "id":
		return 1
	case "op":
		return 2
	case "duplicate":
		return 3
	case "code":
		return 4
	case "error":
		return 5
	case "message":
		return 6
	case "field":
		return 7
	case "sessionId":
		return 8
	case "userId":
		return 9
	case "pos":
		return 10
	case "eventId":
		return 11
	case "time":
		return 12
	case "closed":
		return 13
	case "interactions":
		return 14
	case "interaction":
		return 15
	case "node":
		return 16
	case "url":
		return 17
	case "restored":
		return 18
	case "webapiToken":
		return 19
	case "events":
		return 20
	case "replay":
		return 21
	case "next":
		return 22
	case "state":
		return 23
	case "agent":
		return 24
	case "maxFrameSize":
		return 25
	case "interactionId":
		return 26
	case "offerKind":
		return 27
	case "expiresAt":
		return 28
	case "from":
		return 29
	case "visibility":
		return 30
	case "result":
		return 31
	case "by":
		return 32
	case "agentState":
		return 33
	case "reason":
		return 34
	case "history":
		return 35
	case "contactId":
		return 36
	case "nextAfter":
		return 37
	}
	return 38
}

func eventIndex(key string) int {
	switch key {
	case "pos":
		return 0
	case "eventId":
		return 1
	case "kind":
		return 2
	case "time":
		return 3
	case "timeShift":
		return 4
	case "from":
		return 5
	case "visibility":
		return 6
	case "receiverId":
		return 7
	case "text":
		return 8
	case "msgType":
		return 9
	case "treatAs":
		return 10
	case "noticeType":
		return 11
	case "reason":
		return 12
	case "askerId":
		return 13
	case "userData":
		return 14
	case "eventAttributes":
		return 15
	}
	return 16
}

func partyIndex(key string) int {
	switch key {
	case "userId":
		return 0
	case "num":
		return 1
	case "nickname":
		return 2
	case "userType":
		return 3
	case "bot":
		return 4
	}
	return 5
}

// into hands one value to encoding/json.
func into(sc *jsonscan.Scanner, v any) {
	raw := sc.Skip()
	if !sc.Failed() && json.Unmarshal([]byte(raw), v) != nil {
		sc.Fail()
	}
}

// intoMap reads a user data or event attributes object (a nil map) as
// encoding/json would, without it when the object holds nothing
// jsonscan.Map leaves to it (nested objects of strings, as Confab writes
// them, are read by Map).
func intoMap(sc *jsonscan.Scanner, m *map[string]any) {
	raw := sc.Skip()
	if sc.Failed() {
		return
	}
	if *m == nil {
		var sub jsonscan.Scanner
		sub.ResetString(raw)
		if v := sub.Map(); !sub.Failed() && sub.End() {
			*m = v
			return
		}
	}
	if json.Unmarshal([]byte(raw), m) != nil {
		sc.Fail()
	}
}

// timeOf reads a time the way encoding/json does: time.Time's own
// UnmarshalJSON on the raw value.
func timeOf(sc *jsonscan.Scanner, t *time.Time) {
	raw := sc.Skip()
	if !sc.Failed() && t.UnmarshalJSON([]byte(raw)) != nil {
		sc.Fail()
	}
}

func scanFrame(sc *jsonscan.Scanner, f *Frame) bool {
	if !sc.Object() {
		return false
	}
	var mask uint64
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			break
		}
		bit := keyBit(sc, k, frameKeys, frameIndex, &mask)
		if bit == len(frameKeys) || sc.Null() {
			continue
		}
		switch bit {
		case 0:
			f.Type = sc.String()
		case 1:
			f.ID = sc.String()
		case 2:
			f.Op = sc.String()
		case 3:
			f.Duplicate = sc.Bool()
		case 4:
			f.Code = int(sc.Int())
		case 5:
			f.Error = sc.String()
		case 6:
			f.Message = sc.String()
		case 7:
			f.Field = sc.String()
		case 8:
			f.SessionID = sc.String()
		case 9:
			f.UserID = sc.String()
		case 10:
			p := int(sc.Int())
			f.Pos = &p
		case 11:
			f.EventID = int(sc.Int())
		case 12:
			f.Time = new(time.Time)
			timeOf(sc, f.Time)
		case 13:
			f.Closed = sc.Bool()
		case 14:
			f.Interactions = scanInteractions(sc)
		case 15:
			f.Interaction = new(Interaction)
			scanInteraction(sc, f.Interaction)
		case 16:
			f.Node = sc.String()
		case 17:
			f.URL = sc.String()
		case 18:
			f.Restored = sc.Bool()
		case 19:
			f.WebapiToken = sc.String()
		case 20:
			f.Events = scanEvents(sc)
		case 21:
			f.Replay = sc.Bool()
		case 22:
			f.Next = int(sc.Int())
		case 23:
			f.State = sc.String()
		case 24:
			into(sc, &f.Agent)
		case 25:
			f.MaxFrameSize = int(sc.Int())
		case 26:
			f.InteractionID = sc.String()
		case 27:
			f.OfferKind = sc.String()
		case 28:
			f.ExpiresAt = new(time.Time)
			timeOf(sc, f.ExpiresAt)
		case 29:
			f.From = sc.String()
		case 30:
			f.Visibility = sc.String()
		case 31:
			f.Result = sc.String()
		case 32:
			f.By = sc.String()
		case 33:
			f.AgentState = sc.String()
		case 34:
			f.Reason = sc.String()
		case 35:
			into(sc, &f.History)
		case 36:
			f.ContactID = sc.String()
		case 37:
			f.NextAfter = sc.String()
		}
	}
	return !sc.Failed()
}

func scanEvents(sc *jsonscan.Scanner) []Event {
	if !sc.Array() {
		return nil
	}
	evs := []Event{}
	for first := true; sc.Elem(first); first = false {
		evs = append(evs, Event{})
		scanEvent(sc, &evs[len(evs)-1])
	}
	return evs
}

func scanEvent(sc *jsonscan.Scanner, ev *Event) {
	if !sc.Object() {
		return
	}
	var mask uint64
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			return
		}
		bit := keyBit(sc, k, eventKeys, eventIndex, &mask)
		if bit == len(eventKeys) || sc.Null() {
			continue
		}
		switch bit {
		case 0:
			ev.Pos = int(sc.Int())
		case 1:
			ev.EventID = int(sc.Int())
		case 2:
			ev.Kind = sc.String()
		case 3:
			timeOf(sc, &ev.Time)
		case 4:
			ev.TimeShift = int(sc.Int())
		case 5:
			scanParty(sc, &ev.From)
		case 6:
			ev.Visibility = sc.String()
		case 7:
			ev.ReceiverID = sc.String()
		case 8:
			ev.Text = sc.String()
		case 9:
			ev.MsgType = sc.String()
		case 10:
			ev.TreatAs = sc.String()
		case 11:
			ev.NoticeType = sc.String()
		case 12:
			ev.Reason = new(Reason)
			scanReason(sc, ev.Reason)
		case 13:
			ev.AskerID = sc.String()
		case 14:
			intoMap(sc, &ev.UserData)
		case 15:
			intoMap(sc, &ev.EventAttributes)
		}
	}
}

func scanParty(sc *jsonscan.Scanner, p *Party) {
	if !sc.Object() {
		return
	}
	var mask uint64
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			return
		}
		bit := keyBit(sc, k, partyKeys, partyIndex, &mask)
		if bit == len(partyKeys) || sc.Null() {
			continue
		}
		switch bit {
		case 0:
			p.UserID = sc.String()
		case 1:
			p.Num = int(sc.Int())
		case 2:
			p.Nickname = sc.String()
		case 3:
			p.UserType = sc.String()
		case 4:
			p.Bot = sc.Bool()
		}
	}
}

func interactionIndex(key string) int {
	switch key {
	case "id":
		return 0
	case "sessionId":
		return 1
	case "tenant":
		return 2
	case "endpoint":
		return 3
	case "queue":
		return 4
	case "subject":
		return 5
	case "state":
		return 6
	case "online":
		return 7
	case "async":
		return 8
	case "asyncStatus":
		return 9
	case "agentId":
		return 10
	case "userData":
		return 11
	case "createdAt":
		return 12
	case "closedAt":
		return 13
	}
	return 14
}

func scanInteractions(sc *jsonscan.Scanner) []Interaction {
	if !sc.Array() {
		return nil
	}
	xs := []Interaction{}
	for first := true; sc.Elem(first); first = false {
		xs = append(xs, Interaction{})
		scanInteraction(sc, &xs[len(xs)-1])
	}
	return xs
}

// scanInteraction reads an accept's or an offer's interaction (one a
// session) by hand, as encoding/json would.
func scanInteraction(sc *jsonscan.Scanner, x *Interaction) {
	if !sc.Object() {
		return
	}
	var mask uint64
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			return
		}
		bit := keyBit(sc, k, interactionKeys, interactionIndex, &mask)
		if bit == len(interactionKeys) || sc.Null() {
			continue
		}
		switch bit {
		case 0:
			x.ID = sc.String()
		case 1:
			x.SessionID = sc.String()
		case 2:
			x.Tenant = sc.String()
		case 3:
			x.Endpoint = sc.String()
		case 4:
			x.Queue = sc.String()
		case 5:
			x.Subject = sc.String()
		case 6:
			x.State = sc.String()
		case 7:
			x.Online = sc.Bool()
		case 8:
			x.Async = sc.Bool()
		case 9:
			x.AsyncStatus = int(sc.Int())
		case 10:
			x.AgentID = sc.String()
		case 11:
			intoMap(sc, &x.UserData)
		case 12:
			timeOf(sc, &x.CreatedAt)
		case 13:
			timeOf(sc, &x.ClosedAt)
		}
	}
}

func reasonIndex(key string) int {
	switch key {
	case "code":
		return 0
	case "text":
		return 1
	}
	return 2
}

// scanReason reads a partyLeft event's reason.
func scanReason(sc *jsonscan.Scanner, r *Reason) {
	if !sc.Object() {
		return
	}
	var mask uint64
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			return
		}
		bit := keyBit(sc, k, reasonKeys, reasonIndex, &mask)
		if bit == len(reasonKeys) || sc.Null() {
			continue
		}
		switch bit {
		case 0:
			r.Code = int(sc.Int())
		case 1:
			r.Text = sc.String()
		}
	}
}
