package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// Header is what restoring a session needs beyond its interaction record
// and its events: it rides on the session's first stored event (position 0)
// and is dropped with the intermediate transcript when the session closes.
type Header struct {
	Tenant    string `json:"tenant"`
	Endpoint  string `json:"endpoint"`
	Queue     string `json:"queue"`
	Subject   string `json:"subject,omitempty"`
	Language  string `json:"language,omitempty"`
	Async     bool   `json:"async,omitempty"`
	Password  string `json:"password,omitempty"`
	CreatedAt string `json:"createdAt"` // RFC 3339 with nanoseconds, UTC
	UserData  kv.Map `json:"userData,omitempty"`
	// Secret is the creator's credential (the customer API's secureKey).
	Secret string `json:"secret,omitempty"`
	// Service is the customer API service the session was created under
	// (its credentials work under that name only).
	Service string `json:"service,omitempty"`
}

// storedEvent is the intermediate form of an event: the event and, on the
// first one, the header.
type storedEvent struct {
	Event
	Session *Header `json:"session,omitempty"`
}

func headerOf(info *chat.Info) *Header {
	return &Header{
		Tenant: info.Tenant, Endpoint: info.Endpoint, Queue: info.Queue, Subject: historySubject(info),
		Language: info.Language, Async: info.Async, Password: info.Password,
		CreatedAt: info.CreatedAt.UTC().Format(time.RFC3339Nano), UserData: info.UserData,
		Secret: info.CreatorSecret, Service: info.Service,
	}
}

func (j *Journal) stashHeader(info *chat.Info) {
	h := headerOf(info)
	j.mu.Lock()
	j.headers[info.ID] = h
	j.mu.Unlock()
}

// takeHeader returns (and forgets) the stashed header of a session when pos
// is its first event.
func (j *Journal) takeHeader(id string, pos int) *Header {
	if pos != 0 {
		return nil
	}
	j.mu.Lock()
	h := j.headers[id]
	delete(j.headers, id)
	j.mu.Unlock()
	return h
}

func encodeStored(ev *chat.Event, h *Header) ([]byte, error) {
	// The session start is not at hand here; timeShift is recomputed from
	// utcTime when the final transcript is written.
	// The intermediate copy: masked where apply-area masks it.
	return json.Marshal(storedEvent{Event: EncodeEvent(ev.ForStore(false), ev.Time), Session: h})
}

// SessionRestored is called for a session rebuilt from the store: its record
// and events are there already, so nothing is written.
func (j *Journal) SessionRestored(*chat.Info) chat.Waiter { return nil }

var _ chat.RestoreJournal = (*Journal)(nil)

// ErrNoTranscript means a live session has no stored transcript to restore
// (it ran with transcript-auto-save=0 and the node did not shut down
// cleanly, or it never got its first event).
var ErrNoTranscript = errors.New("history: no intermediate transcript")

// Load reads a live session's interaction record and intermediate transcript
// and returns the request that restores it. ErrNoTranscript if there are no
// events or the first lacks the header.
func Load(ctx context.Context, st store.Store, in store.Interaction) (chat.RestoreRequest, error) {
	rows, err := st.LoadEvents(ctx, in.ID)
	if err != nil {
		return chat.RestoreRequest{}, fmt.Errorf("history: load transcript of %s: %w", in.ID, err)
	}
	if len(rows) == 0 || rows[0].Position != 0 {
		return chat.RestoreRequest{}, fmt.Errorf("session %s: %w", in.ID, ErrNoTranscript)
	}
	req := chat.RestoreRequest{ID: in.ID, Events: make([]chat.Event, 0, len(rows))}
	for i, r := range rows {
		ev, h, err := DecodeStored(r.Data)
		if err != nil {
			return chat.RestoreRequest{}, fmt.Errorf("history: session %s event at %d: %w", in.ID, r.Position, err)
		}
		if int64(ev.Pos) != r.Position {
			return chat.RestoreRequest{}, fmt.Errorf("history: session %s: event at %d says position %d", in.ID, r.Position, ev.Pos)
		}
		if i == 0 {
			if h == nil {
				return chat.RestoreRequest{}, fmt.Errorf("session %s: first event has no header: %w", in.ID, ErrNoTranscript)
			}
			created, err := time.Parse(time.RFC3339Nano, h.CreatedAt)
			if err != nil {
				return chat.RestoreRequest{}, fmt.Errorf("history: session %s: header createdAt: %w", in.ID, err)
			}
			req.Tenant, req.Endpoint, req.Queue, req.Subject = h.Tenant, h.Endpoint, h.Queue, h.Subject
			req.Language, req.Async, req.Password, req.CreatedAt, req.UserData = h.Language, h.Async, h.Password, created, renormalize(h.UserData)
			req.Service = h.Service
			if h.Secret != "" {
				req.Secrets = map[string]string{ev.From.UserID: h.Secret}
			}
		}
		req.Events = append(req.Events, ev)
	}
	return req, nil
}

// DecodeStored decodes one stored intermediate event and its header (nil
// unless it is a session's first).
func DecodeStored(data []byte) (chat.Event, *Header, error) {
	var se storedEvent
	if err := json.Unmarshal(data, &se); err != nil {
		return chat.Event{}, nil, fmt.Errorf("decode event: %w", err)
	}
	ev, err := DecodeEvent(&se.Event)
	return ev, se.Session, err
}

// DecodeEvent converts a stored event back to the engine's form.
func DecodeEvent(e *Event) (chat.Event, error) {
	if e.Pos < 0 {
		return chat.Event{}, fmt.Errorf("negative position %d", e.Pos)
	}
	kind, ok := kindByName[e.Kind]
	if !ok {
		return chat.Event{}, fmt.Errorf("unknown event kind %q", e.Kind)
	}
	ut, err := chat.ParseUserType(e.UserType)
	if err != nil {
		return chat.Event{}, err
	}
	vis, err := chat.ParseVisibility(e.Visibility)
	if err != nil {
		return chat.Event{}, err
	}
	ev := chat.Event{
		Pos: e.Pos, Kind: kind, Time: time.UnixMilli(e.Time).UTC(),
		From:       chat.Party{UserID: e.UserID, Num: e.Num, Nick: e.Nick, Type: ut, Bot: e.Bot, PersonID: e.PersonID},
		Visibility: vis, ReceiverID: e.ReceiverID, Text: e.Text, MsgType: e.MsgType, TreatAs: e.TreatAs,
		AskerID: e.AskerID, UserData: renormalize(e.UserData), Attrs: renormalize(e.Attrs), ClientMsgID: e.ClientMsgID,
	}
	switch kind {
	case chat.Notice:
		nt, err := chat.ParseNoticeType(e.NoticeType)
		if err != nil {
			return chat.Event{}, err
		}
		ev.Notice = nt
	case chat.PartyLeft:
		if e.Reason != nil {
			if *e.Reason < 0 || *e.Reason > 255 {
				return chat.Event{}, fmt.Errorf("reason %d out of range", *e.Reason)
			}
			ev.Reason = chat.LeaveReason(*e.Reason)
		}
	}
	return ev, nil
}

var kindByName = map[string]chat.EventKind{
	chat.NewParty.String(): chat.NewParty, chat.PartyLeft.String(): chat.PartyLeft,
	chat.Message.String(): chat.Message, chat.Notice.String(): chat.Notice,
}

// SaveLive writes the whole transcript of every live session to the
// intermediate transcript and waits until it is durable: with
// transcript-auto-save=0, a graceful shutdown calls it so the sessions can be
// restored at the next start. Events already stored are replays and change
// nothing. Call it once the sessions no longer change.
func (j *Journal) SaveLive(ctx context.Context, sessions []*chat.Session) (int, error) {
	var tickets []store.Ticket
	saved := 0
	var buf []chat.Event
	for _, s := range sessions {
		info := s.Info()
		if info.State != chat.Alive {
			continue
		}
		var secret string
		if len(info.Participants) > 0 {
			secret = info.Participants[0].Secret
		}
		buf, _, _ = s.ReadAll(0, buf[:0])
		for i := range buf {
			var h *Header
			if buf[i].Pos == 0 {
				info.CreatorSecret = secret
				h = headerOf(&info)
			}
			data, err := j.encodeStored(&buf[i], h)
			if err != nil {
				return saved, fmt.Errorf("history: encode event %d of session %s: %w", buf[i].Pos, info.ID, err)
			}
			tickets = append(tickets, j.opts.Store.AppendEvent(ctx, store.EventRow{
				SessionID: info.ID, Position: int64(buf[i].Pos), EventID: int64(buf[i].ID()), Time: buf[i].Time, Data: data,
			}))
		}
		saved++
	}
	var errs []error
	for _, t := range tickets {
		// A conflict is an event stored earlier (with auto-save on): kept.
		if err := t.Wait(ctx); err != nil && !errors.Is(err, store.ErrConflict) && len(errs) < 5 {
			errs = append(errs, err)
		}
	}
	return saved, errors.Join(errs...)
}

// renormalize turns the nested maps encoding/json decoded into kv.Maps, as
// the engine holds them.
func renormalize(m kv.Map) kv.Map {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	n, err := kv.FromJSON(b)
	if err != nil {
		return m
	}
	return n
}
