package chat

import (
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
)

// Session is one chat: its parties, its transcript and its data. All methods
// are safe for concurrent use; each takes the session's own lock, so
// operations on one session are serialised and never wait for other sessions.
type Session struct {
	engine *Engine
	// Immutable after creation.
	id       string
	tenant   string
	endpoint string
	queue    string
	service  string
	created  time.Time
	// historySubject is the subject as the contact history keeps it
	// (clean-subject, mask.go).
	historySubject string
	// durableSeen is durable, stored with it under mu and readable without
	// it: Receipt.Wait's check that the watermark has passed its event.
	durableSeen atomic.Int64

	mu        sync.Mutex // guards the following
	state     State
	closedAt  time.Time
	async     bool
	language  string
	subject   string
	password  string
	restored  bool
	monitored bool // a supervisor monitors it (see MarkMonitored)
	userData  kv.Map
	parties   []*Participant // in join order; parties that left stay
	events    transcript
	confirmed map[string]int // user id → position of its live read confirmation
	sent      sentIndex      // sender and client message id → position (sent.go)
	changed   chan struct{}  // closed and cleared on every change; nil when nobody waits
	onChange  []func()       // called, then cleared, at the next change (OnChange)
	durable   int            // the commit watermark (watermark.go): readers see events below it; set with setDurableLocked
	pending   []pendingWrite // appended events whose durability is awaited, in order
	tracking  bool           // a tracker advances durable as pending writes complete (watermark.go)
	advanceFn func()         // s.advance, made once: the pending writes' completion callback
	tm        timerState     // the session's deadline and its duties (timers.go)

	// Bounds accounting (bounds.go), also guarded by mu.
	sentEvents  int
	sentBytes   int
	fullNoticed bool
	buckets     map[string]*bucket // by user id
}

// ID returns the session id (also the interaction id and the customer API's chatId).
func (s *Session) ID() string { return s.id }

// Tenant returns the tenant id the session belongs to.
func (s *Session) Tenant() string { return s.tenant }

// Endpoint returns the endpoint the session was created through.
func (s *Session) Endpoint() string { return s.endpoint }

// Service returns the customer API service name the session was created
// under ("" when it was not created through the customer API).
func (s *Session) Service() string { return s.service }

// Queue returns the interaction queue of the session's endpoint.
func (s *Session) Queue() string { return s.queue }

// CreatedAt returns when the session was created.
func (s *Session) CreatedAt() time.Time { return s.created }

// JoinRequest describes a party joining a session.
type JoinRequest struct {
	UserID     string // generated when empty
	Nick       string
	Type       UserType
	Visibility Visibility
	Protocol   Protocol
	PersonID   string
	UserData   kv.Map
	Text       string // optional greeting carried on the newParty event
	// Secret is kept on the participant for the protocol adapter to check
	// (the customer API's secureKey); it never appears on an event.
	Secret  string
	creator bool
}

// Join adds a party to a live session and appends its newParty event.
func (s *Session) Join(req JoinRequest) (Participant, Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return Participant{}, Receipt{}, fmt.Errorf("join session %s: %w", s.id, ErrClosed)
	}
	return s.joinLocked(req, s.engine.clock.Now())
}

func (s *Session) joinLocked(req JoinRequest, now time.Time) (Participant, Receipt, error) {
	if !req.Type.allows(req.Visibility) {
		return Participant{}, Receipt{}, fmt.Errorf("join session %s as %s with visibility %s: %w", s.id, req.Type, req.Visibility, ErrVisibility)
	}
	if s.password != "" && !req.creator && req.UserData.String(KeySessionPassword) != s.password {
		return Participant{}, Receipt{}, fmt.Errorf("join session %s: %w", s.id, ErrPassword)
	}
	if req.UserID == "" {
		req.UserID = NewUserID()
	}
	if p := s.partyLocked(req.UserID); p != nil && !p.Left {
		return Participant{}, Receipt{}, fmt.Errorf("join session %s as %s: %w", s.id, req.UserID, ErrDuplicateUser)
	}
	ud := req.UserData.Clone()
	delete(ud, KeySessionPassword) // never echo the password into the transcript
	p := &Participant{
		UserID:       req.UserID,
		Num:          len(s.parties) + 1,
		Nick:         req.Nick,
		Type:         req.Type,
		Visibility:   req.Visibility,
		Bot:          isBotStyle(req.UserData),
		Protocol:     req.Protocol,
		PersonID:     req.PersonID,
		UserData:     ud,
		JoinedAt:     now,
		LastActivity: now,
		Secret:       req.Secret,
	}
	s.parties = append(s.parties, p)
	ev := Event{Kind: NewParty, From: p.party(), Visibility: req.Visibility, Text: req.Text, UserData: ud}
	if p.Bot {
		ev.Attrs = kv.Map{KeySystem: kv.Map{"party-info": kv.Map{"style": "BOT"}}}
	}
	rc := s.appendLocked(&ev, now)
	return *p, rc, nil
}

// Msg is a message to append.
type Msg struct {
	Text       string
	Type       string // free-form, e.g. "text"
	TreatAs    string
	Visibility Visibility
	ReceiverID string
	Attrs      kv.Map
	// ClientMsgID, when set, makes the send idempotent: a second send with the
	// same id from the same party appends nothing and returns the first
	// message's receipt with Duplicate set.
	ClientMsgID string
}

// Send appends a message from a party.
func (s *Session) Send(fromID string, m Msg) (Receipt, error) {
	mk := s.engine.maskText(m.Text) // before the lock: see mask.go
	s.mu.Lock()
	defer s.mu.Unlock()
	from, now, err := s.activePartyLocked(fromID, "send")
	if err != nil {
		return Receipt{}, err
	}
	if m.ClientMsgID != "" {
		if pos, ok := s.sent.find(&s.events, from.UserID, m.ClientMsgID); ok {
			return s.duplicateLocked(pos), nil // watermark.go
		}
	}
	if err := s.checkSendLocked(from, m.Visibility, m.ReceiverID, "send"); err != nil {
		return Receipt{}, err
	}
	if err := s.admitLocked(from, eventSize(m.Text, m.Attrs), now); err != nil {
		return Receipt{}, err
	}
	ev := Event{
		Kind: Message, From: from.party(), Visibility: m.Visibility, ReceiverID: m.ReceiverID,
		Text: m.Text, MsgType: m.Type, TreatAs: m.TreatAs, Attrs: m.Attrs, ClientMsgID: m.ClientMsgID,
	}
	s.applyMaskLocked(&ev, from, mk)
	rc := s.appendLocked(&ev, now)
	if m.ClientMsgID != "" {
		s.sent.add(&s.events, from.UserID, m.ClientMsgID, rc.Pos)
	}
	return rc, nil
}

// Note is a notice to append.
type Note struct {
	Type       NoticeType
	Text       string
	Visibility Visibility
	ReceiverID string
	UserData   kv.Map
	Attrs      kv.Map
}

// Notify appends a notice from a party. A read confirmation (SYS_COMMAND
// "read-confirm") replaces the same party's previous one. A USER_PUSHED_URL
// notice must carry an absolute URL. Nickname changes go through
// ChangeNickname, and the IDLE_CONTROL notices are the server's own.
func (s *Session) Notify(fromID string, n Note) (Receipt, error) {
	switch n.Type {
	case NickChanged, IdleAlert, IdleClose, IdleSet:
		return Receipt{}, fmt.Errorf("%w: notice type %s cannot be sent by a party", ErrInvalid, n.Type)
	case PushURL:
		if u, err := url.Parse(n.Text); err != nil || u.Scheme == "" || u.Host == "" {
			return Receipt{}, fmt.Errorf("%w: pushed URL %q is not an absolute URL", ErrInvalid, n.Text)
		}
	}
	n = s.engine.maskTyping(n)
	s.mu.Lock()
	defer s.mu.Unlock()
	from, now, err := s.activePartyLocked(fromID, "notify")
	if err != nil {
		return Receipt{}, err
	}
	if err := s.checkSendLocked(from, n.Visibility, n.ReceiverID, "notify"); err != nil {
		return Receipt{}, err
	}
	if err := s.admitLocked(from, eventSize(n.Text, n.UserData, n.Attrs), now); err != nil {
		return Receipt{}, err
	}
	ev := Event{
		Kind: Notice, Notice: n.Type, From: from.party(), Visibility: n.Visibility,
		ReceiverID: n.ReceiverID, Text: n.Text, UserData: n.UserData, Attrs: n.Attrs,
	}
	readConfirm := ev.IsReadConfirm()
	if readConfirm {
		s.supersedeConfirmLocked(fromID)
	}
	rc := s.appendLocked(&ev, now)
	if readConfirm {
		if s.confirmed == nil {
			s.confirmed = make(map[string]int)
		}
		s.confirmed[fromID] = rc.Pos
	}
	return rc, nil
}

// ChangeNickname renames a party and appends a USER_UPDATE_NICK notice whose
// text is the new nickname. The first change records the original nickname
// in the party's user data and the notice's as GCTI_Original_Nickname.
func (s *Session) ChangeNickname(userID, nick string) (Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, now, err := s.activePartyLocked(userID, "change nickname")
	if err != nil {
		return Receipt{}, err
	}
	if err := s.admitLocked(p, len(nick), now); err != nil {
		return Receipt{}, err
	}
	if p.OriginalNick == "" {
		p.OriginalNick = p.Nick
		if p.UserData == nil {
			p.UserData = kv.Map{}
		} else {
			p.UserData = p.UserData.Clone() // copies handed out earlier stay as they were
		}
		p.UserData[KeyOriginalNickname] = p.OriginalNick
	}
	p.Nick = nick
	ev := Event{
		Kind: Notice, Notice: NickChanged, From: p.party(), Visibility: p.Visibility,
		Text: nick, UserData: kv.Map{KeyOriginalNickname: p.OriginalNick},
	}
	return s.appendLocked(&ev, now), nil
}

// AddSystemNotice appends a notice from the server itself (a SYSTEM party
// that never joins), e.g. inactivity alerts.
func (s *Session) AddSystemNotice(n Note) (Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return Receipt{}, fmt.Errorf("system notice in session %s: %w", s.id, ErrClosed)
	}
	ev := Event{
		Kind: Notice, Notice: n.Type, From: Party{Nick: "system", Type: System}, Visibility: n.Visibility,
		ReceiverID: n.ReceiverID, Text: n.Text, UserData: n.UserData, Attrs: n.Attrs,
	}
	return s.appendLocked(&ev, s.engine.clock.Now()), nil
}

// UpdateUserData merges data into the session's user data (the customer
// API's updateData). It appends no event; the journal records the change.
func (s *Session) UpdateUserData(userID string, data kv.Map) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.activePartyLocked(userID, "update data"); err != nil {
		return err
	}
	s.userData.Merge(data)
	info := s.infoLocked()
	s.engine.journal.SessionUpdated(&info)
	s.notifyLocked()
	return nil
}

// Touch records protocol activity of a party (any request counts); it fails
// if the party is not present.
func (s *Session) Touch(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.partyLocked(userID)
	if p == nil || p.Left {
		return fmt.Errorf("touch %s in session %s: %w", userID, s.id, ErrNotParticipant)
	}
	p.LastActivity = s.engine.clock.Now()
	return nil
}

// Changed returns a channel that is closed at the next change of the session
// (event appended, data updated, closed). Take it before reading, then wait on
// it if the read found nothing new.
func (s *Session) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// Read appends to buf the events at positions ≥ from that the party userID
// may see and returns them, with the position to read from next (the
// commit watermark, see watermark.go) and the session state. Parties that
// left may still read.
func (s *Session) Read(userID string, from int, buf []Event) ([]Event, int, State, error) {
	return s.ReadN(userID, from, 0, buf)
}

// ReadN is Read with a bound: it appends at most max events (max ≤ 0 means
// no bound). When the bound cuts the read short, next is the position just
// after the last event returned, so reading on from next neither skips nor
// repeats an event; otherwise it is the commit watermark (the end of what is
// durable; the transcript length when nothing is pending). Push delivery uses
// it to keep what one connection holds in memory bounded however far behind
// the connection is.
func (s *Session) ReadN(userID string, from, max int, buf []Event) ([]Event, int, State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readNLocked(userID, from, max, buf)
}

func (s *Session) readNLocked(userID string, from, max int, buf []Event) ([]Event, int, State, error) {
	p := s.partyLocked(userID)
	if p == nil {
		return buf, 0, s.state, fmt.Errorf("read session %s as %s: %w", s.id, userID, ErrNotParticipant)
	}
	n := 0
	end := s.visibleLocked()
	for i := max0(from); i < end; i++ {
		if s.events.superseded(i) {
			continue // seen by nobody
		}
		// The event is read into buf's next slot, which is dropped again
		// when the viewer may not see it.
		buf = append(buf, Event{})
		ev := &buf[len(buf)-1]
		s.events.get(i, ev)
		if !ev.VisibleTo(userID, p.Type) {
			buf = buf[:len(buf)-1]
			continue
		}
		if n == max && max > 0 {
			return buf[:len(buf)-1], i, s.readStateLocked(), nil
		}
		viewOf(ev, userID, p.Type)
		s.engine.unmaskFor(ev, userID)
		n++
	}
	return buf, end, s.readStateLocked(), nil
}

func max0(x int) int {
	if x < 0 {
		return 0
	}
	return x
}

// viewOf makes ev the viewer's copy: a customer does not get the join user
// data of other parties (an agent's or bot's join data are the contact
// center's business).
func viewOf(ev *Event, viewerID string, viewerType UserType) {
	if viewerType == Client && ev.Kind == NewParty && ev.From.UserID != viewerID {
		ev.UserData = nil
	}
}

// ReadAll appends every event at positions ≥ from, unfiltered (superseded
// read confirmations included), for the server's own use.
func (s *Session) ReadAll(from int, buf []Event) ([]Event, int, State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from < 0 {
		from = 0
	}
	for i := from; i < s.events.len(); i++ {
		buf = append(buf, Event{})
		s.events.get(i, &buf[len(buf)-1])
	}
	return buf, s.events.len(), s.state
}

// Participant returns a copy of the party with the given user id, present or
// left; a party is reported left once its partyLeft event is durable (below
// the commit watermark).
func (s *Session) Participant(userID string) (Participant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.partyLocked(userID)
	if p == nil {
		return Participant{}, fmt.Errorf("session %s has no party %s: %w", s.id, userID, ErrNotParticipant)
	}
	c := *p
	if c.Left && c.leftPos >= s.durable {
		// Its departure is not durable yet: readers see the party present.
		c.Left, c.LeftAt = false, time.Time{}
	}
	return c, nil
}

// Info returns a snapshot of the session's header, data and parties.
func (s *Session) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoLocked()
}

// State returns whether the session is alive or closed.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// partyLocked finds a party (present or left) by user id.
func (s *Session) partyLocked(userID string) *Participant {
	// The latest party with the id: a user id may join again after it
	// left (an agent rejoining after a failover).
	for i := len(s.parties) - 1; i >= 0; i-- {
		if p := s.parties[i]; p.UserID == userID {
			return p
		}
	}
	return nil
}

// activePartyLocked returns the present party and the current time, or an
// error saying why the operation cannot proceed.
func (s *Session) activePartyLocked(userID, op string) (*Participant, time.Time, error) {
	if s.state != Alive {
		return nil, time.Time{}, fmt.Errorf("%s in session %s: %w", op, s.id, ErrClosed)
	}
	p := s.partyLocked(userID)
	if p == nil || p.Left {
		return nil, time.Time{}, fmt.Errorf("%s in session %s as %s: %w", op, s.id, userID, ErrNotParticipant)
	}
	now := s.engine.clock.Now()
	p.LastActivity = now
	return p, now, nil
}

func (s *Session) checkSendLocked(from *Participant, v Visibility, receiverID, op string) error {
	if !from.Type.allows(v) {
		return fmt.Errorf("%s in session %s as %s with visibility %s: %w", op, s.id, from.Type, v, ErrVisibility)
	}
	if receiverID != "" {
		if r := s.partyLocked(receiverID); r == nil || r.Left {
			return fmt.Errorf("%s in session %s: receiver %s: %w", op, s.id, receiverID, ErrNotParticipant)
		}
	}
	return nil
}

// appendLocked stamps ev with its position and time, appends it, hands it to
// the journal and wakes the waiters.
func (s *Session) appendLocked(ev *Event, now time.Time) Receipt {
	ev.Pos = s.events.len()
	ev.Time = now
	s.events.add(ev)
	// What follows reads a pooled copy, so the caller's event does not
	// escape (a send builds it on its stack) and no copy is allocated per
	// event. The journals and hooks read it during the call only.
	st := s.engine.scratchEvent()
	*st = *ev
	defer s.engine.releaseEvent(st)
	w := s.engine.journal.EventAppended(s.id, st)
	s.trackLocked(st.Pos, w)
	s.observeLocked(st, now)
	s.interimLocked(st, now)
	if s.durable > st.Pos {
		s.notifyLocked() // else readers are woken when the watermark passes it
	}
	return Receipt{Pos: st.Pos, Time: now, durable: w, sess: s}
}

func (s *Session) notifyLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	if len(s.onChange) > 0 {
		for i, fn := range s.onChange {
			fn()
			s.onChange[i] = nil
		}
		s.onChange = s.onChange[:0]
	}
}

func (s *Session) supersedeConfirmLocked(userID string) {
	if pos, ok := s.confirmed[userID]; ok {
		s.events.supersede(pos)
		delete(s.confirmed, userID)
	}
}

// Info is a snapshot of a session.
type Info struct {
	ID           string
	Tenant       string
	Endpoint     string
	Queue        string
	Subject      string
	Language     string
	Async        bool
	Password     string // empty unless passwords are enforced
	Restored     bool
	Monitored    bool // a supervisor monitored the session (ClientVersion 105's indication)
	State        State
	CreatedAt    time.Time
	ClosedAt     time.Time
	UserData     kv.Map
	Participants []Participant // in join order, parties that left included
	Next         int           // transcript length: the next event's position
	// Service is the customer API service name the session was created
	// under ("" when not through the customer API).
	Service string
	// CreatorSecret is the creator's credential (the customer API's
	// secureKey), set only on the Info handed to Journal.SessionCreated so a
	// journal can keep what restoring the session needs. Never shown.
	CreatorSecret string
	// HistorySubject is the subject as the contact history stores it:
	// Subject, or a differently masked copy (clean-subject, mask.go).
	HistorySubject string
	// IdleNotices is the include-notices the workflow set for this session
	// (ConfigureIdle), "" when it set none: which notices count as
	// activity for its inactivity control (the reporting statistics).
	IdleNotices config.NoticeSet
}

func (s *Session) infoLocked() Info {
	info := Info{
		ID: s.id, Tenant: s.tenant, Endpoint: s.endpoint, Queue: s.queue, Service: s.service,
		Subject: s.subject, HistorySubject: s.historySubject, Language: s.language, Async: s.async, Password: s.password,
		Restored: s.restored, Monitored: s.monitored, State: s.state, CreatedAt: s.created, ClosedAt: s.closedAt,
		UserData: s.userData.Clone(), Next: s.events.len(),
		Participants: make([]Participant, len(s.parties)),
	}
	for i, p := range s.parties {
		info.Participants[i] = *p
	}
	if o := s.tm.override; o != nil && o.IncludeNotices != nil {
		info.IdleNotices = *o.IncludeNotices
	}
	return info
}
