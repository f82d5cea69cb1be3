package history

import (
	"encoding/json"
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
		UserData: ev.UserData, Attrs: ev.Attrs,
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

// EncodeFinal builds the stored final transcript of a closed session.
func EncodeFinal(f *chat.Final) ([]byte, error) {
	t := Transcript{
		SessionID: f.ID, StartAt: f.CreatedAt.UTC().Format(time.RFC3339Nano),
		ClosedAt: f.ClosedAt.UTC().Format(time.RFC3339Nano), Subject: f.Subject,
		Language: f.Language, Async: f.Async, Monitored: f.Monitored,
		Participants: make([]Party, len(f.Participants)),
		Events:       make([]Event, len(f.Events)),
	}
	for i, p := range f.Participants {
		t.Participants[i] = Party{
			UserID: p.UserID, Num: p.Num, Nick: p.Nick, OriginalNick: p.OriginalNick,
			UserType: p.Type.String(), Visibility: p.Visibility.String(), Bot: p.Bot,
			Protocol: p.Protocol.String(), PersonID: p.PersonID, JoinedAt: p.JoinedAt.UnixMilli(),
		}
		if p.Left {
			t.Participants[i].LeftAt = p.LeftAt.UnixMilli()
		}
	}
	for i := range f.Events {
		t.Events[i] = EncodeEvent(&f.Events[i], f.CreatedAt)
	}
	return json.Marshal(t)
}
