package chatv2

import (
	"bytes"
	"encoding/json"

	"github.com/confab/confab/client/internal/jsonscan"
)

// decodeResponse decodes an answer or a push frame into r without
// reflection when it can (client/internal/jsonscan), and with encoding/json
// otherwise, so the result is always what encoding/json gives. With stream
// set it behaves like json.Decoder.Decode on the data (what follows the
// first value is not looked at) instead of json.Unmarshal.
func decodeResponse(data []byte, r *Response, stream bool) error {
	var sc jsonscan.Scanner
	sc.Reset(data)
	if scanResponse(&sc, r) && (stream || sc.End()) {
		return nil
	}
	*r = Response{}
	if stream {
		return json.NewDecoder(bytes.NewReader(data)).Decode(r)
	}
	return json.Unmarshal(data, r)
}

// The JSON names of each type's fields: a key that matches one only
// case-insensitively is left to encoding/json.
var (
	responseKeys = []string{"statusCode", "alias", "userId", "secureKey", "chatId", "chatEnded",
		"nextPosition", "messages", "errors", "userData", "resyncFrom"}
	messageKeys = []string{"from", "index", "type", "text", "utcTime", "userData", "eventAttributes"}
	partyKeys   = []string{"nickname", "participantId", "type"}
)

// responseIndex, messageIndex and partyIndex return a key's index in
// responseKeys, messageKeys and partyKeys (TestKeyIndexes checks them).
func responseIndex(key string) int {
	switch key {
	case "statusCode":
		return 0
	case "alias":
		return 1
	case "userId":
		return 2
	case "secureKey":
		return 3
	case "chatId":
		return 4
	case "chatEnded":
		return 5
	case "nextPosition":
		return 6
	case "messages":
		return 7
	case "errors":
		return 8
	case "userData":
		return 9
	case "resyncFrom":
		return 10
	}
	return 11
}

func messageIndex(key string) int {
	switch key {
	case "from":
		return 0
	case "index":
		return 1
	case "type":
		return 2
	case "text":
		return 3
	case "utcTime":
		return 4
	case "userData":
		return 5
	case "eventAttributes":
		return 6
	}
	return 7
}

func partyIndex(key string) int {
	switch key {
	case "nickname":
		return 0
	case "participantId":
		return 1
	case "type":
		return 2
	}
	return 3
}

// seen marks key bit in *mask, giving up on a key seen before in the same
// object (encoding/json merges or replaces; the fast path does neither).
func seen(sc *jsonscan.Scanner, mask *uint32, bit uint) {
	if *mask&(1<<bit) != 0 {
		sc.Fail()
	}
	*mask |= 1 << bit
}

// unknown skips the value of a key the type does not have, giving up when
// encoding/json would match it to a field case-insensitively.
func unknown(sc *jsonscan.Scanner, key string, names []string) {
	if jsonscan.Folds(key, names) {
		sc.Fail()
		return
	}
	sc.Skip()
}

// into hands one value to encoding/json (the rare fields: maps of any,
// error lists).
func into(sc *jsonscan.Scanner, v any) {
	raw := sc.Skip()
	if sc.Failed() {
		return
	}
	if json.Unmarshal([]byte(raw), v) != nil {
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

func scanResponse(sc *jsonscan.Scanner, r *Response) bool {
	if !sc.Object() {
		return false
	}
	var mask uint32
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			break
		}
		bit := uint(responseIndex(k))
		if bit == uint(len(responseKeys)) {
			unknown(sc, k, responseKeys)
			continue
		}
		seen(sc, &mask, bit)
		if sc.Null() {
			continue
		}
		switch bit {
		case 0:
			r.StatusCode = int(sc.Int())
		case 1:
			r.Alias = sc.String()
		case 2:
			r.UserID = sc.String()
		case 3:
			r.SecureKey = sc.String()
		case 4:
			r.ChatID = sc.String()
		case 5:
			r.ChatEnded = sc.Bool()
		case 6:
			r.NextPosition = int(sc.Int())
		case 7:
			r.Messages = scanMessages(sc)
		case 8:
			into(sc, &r.Errors)
		case 9:
			intoMap(sc, &r.UserData)
		case 10:
			r.ResyncFrom = int(sc.Int())
		}
	}
	return !sc.Failed()
}

func scanMessages(sc *jsonscan.Scanner) []Message {
	if !sc.Array() {
		return nil
	}
	msgs := []Message{}
	for first := true; sc.Elem(first); first = false {
		msgs = append(msgs, Message{})
		scanMessage(sc, &msgs[len(msgs)-1])
	}
	return msgs
}

func scanMessage(sc *jsonscan.Scanner, m *Message) {
	if !sc.Object() {
		return
	}
	var mask uint32
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			return
		}
		bit := uint(messageIndex(k))
		if bit == uint(len(messageKeys)) {
			unknown(sc, k, messageKeys)
			continue
		}
		seen(sc, &mask, bit)
		if sc.Null() {
			continue
		}
		switch bit {
		case 0:
			scanParty(sc, &m.From)
		case 1:
			m.Index = int(sc.Int())
		case 2:
			m.Type = sc.String()
		case 3:
			m.Text = sc.String()
		case 4:
			m.UTCTime = sc.Int()
		case 5:
			intoMap(sc, &m.UserData)
		case 6:
			intoMap(sc, &m.EventAttributes)
		}
	}
}

func scanParty(sc *jsonscan.Scanner, p *Party) {
	if !sc.Object() {
		return
	}
	var mask uint32
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			return
		}
		bit := uint(partyIndex(k))
		if bit == uint(len(partyKeys)) {
			unknown(sc, k, partyKeys)
			continue
		}
		seen(sc, &mask, bit)
		if sc.Null() {
			continue
		}
		switch bit {
		case 0:
			p.Nickname = sc.String()
		case 1:
			p.ParticipantID = int(sc.Int())
		case 2:
			p.Type = sc.String()
		}
	}
}
