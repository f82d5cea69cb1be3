package history

import (
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// Event is the stored form of a transcript event, in the intermediate
// transcript and in the final one. Field names follow the reference's
// transcript attributes where it has them.
type Event struct {
	Pos       int    `json:"pos"`
	EventID   int    `json:"eventId"`
	Kind      string `json:"kind"`                // newParty, partyLeft, message, notice
	Time      int64  `json:"utcTime"`             // epoch milliseconds
	TimeShift int64  `json:"timeShift,omitempty"` // whole seconds since the session started (final transcript only)
	UserID    string `json:"userId"`
	Num       int    `json:"participantId"`
	Nick      string `json:"userNick"`
	UserType  string `json:"userType"`
	Bot       bool   `json:"bot,omitempty"`
	// PersonID is the agent's login id, on newParty events of agents and
	// supervisors (so a restored session knows who its agents were).
	PersonID   string `json:"personId,omitempty"`
	Visibility string `json:"visibility"`
	ReceiverID string `json:"receiverId,omitempty"`
	Text       string `json:"text,omitempty"`
	MsgType    string `json:"msgType,omitempty"`
	TreatAs    string `json:"treatAs,omitempty"`
	NoticeType string `json:"noticeType,omitempty"`
	Reason     *int   `json:"reason,omitempty"` // partyLeft only
	AskerID    string `json:"askerId,omitempty"`
	UserData   kv.Map `json:"userData,omitempty"`
	Attrs      kv.Map `json:"eventAttributes,omitempty"`
	// ClientMsgID is the sender's clientMessageId (idempotent sends).
	ClientMsgID string `json:"clientMessageId,omitempty"`
}

// Party is a participant in the stored final transcript.
type Party struct {
	UserID       string `json:"userId"`
	Num          int    `json:"participantId"`
	Nick         string `json:"userNick"`
	OriginalNick string `json:"originalNick,omitempty"`
	UserType     string `json:"userType"`
	Visibility   string `json:"visibility"`
	Bot          bool   `json:"bot,omitempty"`
	Protocol     string `json:"protocolType"`
	PersonID     string `json:"personId,omitempty"`
	JoinedAt     int64  `json:"joinedAt"`
	LeftAt       int64  `json:"leftAt,omitempty"`
}

// Transcript is the stored final transcript of a session.
type Transcript struct {
	SessionID string `json:"sessionId"`
	StartAt   string `json:"startAt"` // RFC 3339, UTC
	ClosedAt  string `json:"closedAt"`
	Subject   string `json:"subject,omitempty"`
	Language  string `json:"language,omitempty"`
	Async     bool   `json:"async,omitempty"`
	// Monitored marks a session a supervisor watched silently (the
	// reference's ClientVersion 105 indication).
	Monitored    bool    `json:"monitored,omitempty"`
	Participants []Party `json:"participants"`
	Events       []Event `json:"events"`
}

// EncodeEvent converts an engine event to its stored form.
func EncodeEvent(ev *chat.Event, sessionStart time.Time) Event {
	out := Event{
		Pos: ev.Pos, EventID: ev.ID(), Kind: ev.Kind.String(),
		Time: ev.Time.UnixMilli(), TimeShift: int64(ev.Time.Sub(sessionStart) / time.Second),
		UserID: ev.From.UserID, Num: ev.From.Num, Nick: ev.From.Nick, UserType: ev.From.Type.String(),
		Bot: ev.From.Bot, Visibility: ev.Visibility.String(), ReceiverID: ev.ReceiverID,
		Text: ev.Text, MsgType: ev.MsgType, TreatAs: ev.TreatAs, AskerID: ev.AskerID,
		UserData: ev.UserData, Attrs: ev.Attrs, ClientMsgID: ev.ClientMsgID,
	}
	switch ev.Kind {
	case chat.NewParty:
		out.PersonID = ev.From.PersonID
	case chat.Notice:
		out.NoticeType = ev.Notice.String()
	case chat.PartyLeft:
		r := int(ev.Reason)
		out.Reason = &r
	}
	return out
}

// EncodeFinal builds the stored final transcript of a closed session in one
// buffer sized up front from the events' text, so that closing a session
// costs one copy of its transcript, not a doubling series of them.
func EncodeFinal(f *chat.Final) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, finalSize(f)))
	if err := WriteFinal(buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// finalSize is a guess of the length of f's final transcript, a little
// over it, so that one buffer holds it.
func finalSize(f *chat.Final) int {
	size := 512 + 160*len(f.Participants)
	for i := range f.Events {
		ev := &f.Events[i]
		size += 256 + len(ev.Text) + ev.UserData.Size() + ev.Attrs.Size()
	}
	return size
}

// WriteFinal streams the stored final transcript of a closed session to w,
// one event at a time, without building the whole document first. The
// bytes are those json.Marshal gives for the Transcript.
func WriteFinal(w io.Writer, f *chat.Final) error { return writeFinal(w, f, storedLayoutKnown()) }

// writeFinal is WriteFinal with the events written by hand (appendFinal)
// when fast (the Journal's fastEncode), by encoding/json otherwise or for
// an event appendFinal cannot write.
func writeFinal(w io.Writer, f *chat.Final, fast bool) error {
	head := finalHeadOf(f)
	var b []byte
	if fast {
		b = appendFinalHead(make([]byte, 0, 256+192*len(head.Participants)), &head)
	} else {
		var err error
		if b, err = json.Marshal(head); err != nil {
			return err
		}
	}
	b = append(b[:len(b)-1], `,"events":[`...) // reopen the object
	if _, err := w.Write(b); err != nil {
		return err
	}
	return writeFinalEvents(w, f, fast)
}

// finalHeadOf is f's final transcript up to its events.
func finalHeadOf(f *chat.Final) finalHead {
	head := finalHead{
		SessionID: f.ID, StartAt: f.CreatedAt.UTC().Format(time.RFC3339Nano),
		ClosedAt: f.ClosedAt.UTC().Format(time.RFC3339Nano), Subject: historySubject(&f.Info),
		Language: f.Language, Async: f.Async, Monitored: f.Monitored,
		Participants: make([]Party, len(f.Participants)),
	}
	for i, p := range f.Participants {
		head.Participants[i] = Party{
			UserID: p.UserID, Num: p.Num, Nick: p.Nick, OriginalNick: p.OriginalNick,
			UserType: p.Type.String(), Visibility: p.Visibility.String(), Bot: p.Bot,
			Protocol: p.Protocol.String(), PersonID: p.PersonID, JoinedAt: p.JoinedAt.UnixMilli(),
		}
		if p.Left {
			head.Participants[i].LeftAt = p.LeftAt.UnixMilli()
		}
	}
	return head
}

// writeFinalEvents writes f's final events and the document's end.
func writeFinalEvents(w io.Writer, f *chat.Final, fast bool) error {
	// One scratch buffer for every event, so that a long transcript costs
	// the largest event's size in encoding, not another copy of itself
	// (json.Marshal would return a new slice per event). The Encoder writes
	// what Marshal gives plus a newline, which is cut off.
	var scratch bytes.Buffer
	enc := json.NewEncoder(&scratch)
	var buf []byte
	for i := range f.Events {
		st := f.Events[i].ForStore(true)
		if fast {
			buf = buf[:0]
			if i > 0 {
				buf = append(buf, ',')
			}
			var ok bool
			if buf, ok = appendFinal(buf, st, f.CreatedAt); ok {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				continue
			}
		}
		ev := EncodeEvent(st, f.CreatedAt)
		scratch.Reset()
		if i > 0 {
			scratch.WriteByte(',')
		}
		if err := enc.Encode(&ev); err != nil {
			return err
		}
		if _, err := w.Write(bytes.TrimSuffix(scratch.Bytes(), []byte("\n"))); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}")
	return err
}

// historySubject is the subject the contact history keeps (masked where
// clean-subject says so).
func historySubject(info *chat.Info) string {
	if info.HistorySubject != "" {
		return info.HistorySubject
	}
	return info.Subject
}
