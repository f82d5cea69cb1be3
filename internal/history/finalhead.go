package history

import "github.com/confab/confab/internal/jsonw"

// finalHead is the final transcript up to its events: Transcript's fields
// in its order, without Events.
type finalHead struct {
	SessionID    string  `json:"sessionId"`
	StartAt      string  `json:"startAt"`
	ClosedAt     string  `json:"closedAt"`
	Subject      string  `json:"subject,omitempty"`
	Language     string  `json:"language,omitempty"`
	Async        bool    `json:"async,omitempty"`
	Monitored    bool    `json:"monitored,omitempty"`
	Participants []Party `json:"participants"`
}

// appendFinalHead appends h as json.Marshal writes it (the bytes
// TestAppendFinalHeadMatchesMarshal compares), without its reflection;
// writeFinal uses it when storedLayoutKnown (the fields of finalHead and
// Party included).
func appendFinalHead(dst []byte, h *finalHead) []byte {
	dst = append(dst, `{"sessionId":`...)
	dst = jsonw.String(dst, h.SessionID)
	dst = append(dst, `,"startAt":`...)
	dst = jsonw.String(dst, h.StartAt)
	dst = append(dst, `,"closedAt":`...)
	dst = jsonw.String(dst, h.ClosedAt)
	if h.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = jsonw.String(dst, h.Subject)
	}
	if h.Language != "" {
		dst = append(dst, `,"language":`...)
		dst = jsonw.String(dst, h.Language)
	}
	if h.Async {
		dst = append(dst, `,"async":true`...)
	}
	if h.Monitored {
		dst = append(dst, `,"monitored":true`...)
	}
	if h.Participants == nil {
		return append(dst, `,"participants":null}`...)
	}
	dst = append(dst, `,"participants":[`...)
	for i := range h.Participants {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendParty(dst, &h.Participants[i])
	}
	return append(dst, "]}"...)
}

// appendParty appends p as json.Marshal writes it.
func appendParty(dst []byte, p *Party) []byte {
	dst = append(dst, `{"userId":`...)
	dst = jsonw.String(dst, p.UserID)
	dst = append(dst, `,"participantId":`...)
	dst = jsonw.Int(dst, int64(p.Num))
	dst = append(dst, `,"userNick":`...)
	dst = jsonw.String(dst, p.Nick)
	if p.OriginalNick != "" {
		dst = append(dst, `,"originalNick":`...)
		dst = jsonw.String(dst, p.OriginalNick)
	}
	dst = append(dst, `,"userType":`...)
	dst = jsonw.String(dst, p.UserType)
	dst = append(dst, `,"visibility":`...)
	dst = jsonw.String(dst, p.Visibility)
	if p.Bot {
		dst = append(dst, `,"bot":true`...)
	}
	dst = append(dst, `,"protocolType":`...)
	dst = jsonw.String(dst, p.Protocol)
	if p.PersonID != "" {
		dst = append(dst, `,"personId":`...)
		dst = jsonw.String(dst, p.PersonID)
	}
	dst = append(dst, `,"joinedAt":`...)
	dst = jsonw.Int(dst, p.JoinedAt)
	if p.LeftAt != 0 {
		dst = append(dst, `,"leftAt":`...)
		dst = jsonw.Int(dst, p.LeftAt)
	}
	return append(dst, '}')
}
