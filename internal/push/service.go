package push

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// OutboxKind is the outbox kind of pending reliable notifications.
const OutboxKind = "push"

// Options configure a Service. Config and Clock are required.
type Options struct {
	Config func() *config.Config
	Clock  clock.Clock
	// Outbox keeps pending reliable notifications across a restart; nil
	// keeps them in memory only.
	Outbox store.Outbox
	// Client posts the notifications; default a client of its own.
	Client *http.Client
	// Encode appends the customer API's JSON form of an event (for
	// GCTI_GMS_PushIncludePayload); ok false for events with no customer
	// form, which are not pushed. Nil pushes no payload events.
	Encode func(dst []byte, ev *chat.Event) ([]byte, bool)
	// Connected reports whether the customer of a session holds a live
	// connection (WebSocket, long poll) that delivers its events anyway;
	// nil means never.
	Connected func(sessionID string) bool
	// Secret returns a customer's secure key, for flex-push-content's
	// secure-key (called off the message path, never under a session's
	// lock); nil leaves it out.
	Secret func(sessionID, userID string) string
	// Alias is the app-dbid of flex-push-content and the answers' alias.
	Alias string
	// Resume, when set, says whether a restored session's subscription is
	// resumed (false after a desktop's or workflow's restoration with
	// session-restore-push-send off); nil resumes every one.
	Resume func(sessionID string) bool
	// Owner, when set, reports whether this node owns a session now (a
	// cluster's owner row); only the owner resends or loads its pending
	// notification (handover.go). Nil: every session is this node's.
	Owner func(ctx context.Context, sessionID string) (bool, error)
	Log   *slog.Logger
}

// Stats are the service's counters since it started.
type Stats struct {
	Subscribed int   // live subscriptions
	Pending    int   // reliable notifications waiting for a refresh
	Queued     int64 // notifications put on a destination queue
	Dropped    int64 // notifications refused by a full queue
	Skipped    int64 // notifications not sent: the customer was connected, or the event has no customer form
	Attempts   int64 // POSTs made
	Delivered  int64 // POSTs answered 2xx
	Failures   int64 // POSTs that failed (network error, timeout, non-2xx)
	GivenUp    int64 // notifications dropped after delivery-attempts failures
	Resends    int64 // reliable notifications sent again for want of a refresh
	Acked      int64 // reliable notifications acknowledged by a refresh
	Expired    int64 // reliable notifications whose resends ran out
	Moved      int64 // subscriptions dropped because another node took the session over
	// Latency of delivered POSTs, on the service's clock.
	LatencyCount int64
	LatencyTotal time.Duration
	LatencyMax   time.Duration
}

// sub is one subscribed customer.
type sub struct {
	Subscription
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	Secret    string `json:"secret"`
	Next      int    `json:"next"` // nextPosition: last event id + 1
	// Reliable delivery state.
	Pending   bool      `json:"pending"`
	NotifyPos int       `json:"notifyPos"`
	Attempt   int       `json:"attempt"`
	Due       time.Time `json:"due"` // when the next resend is due
	timer     clock.Timer
}

// job is one notification to post.
type job struct {
	s        sub        // a copy, taken when the notification was made
	ev       chat.Event // for event notifications (hasEv)
	hasEv    bool
	trigger  bool // a reliable-mode PushUrl trigger
	ended    bool // chatEnded
	try      int  // POSTs made so far
	url      string
	enqueued time.Time
}

// Service delivers push notifications; see the package comment.
type Service struct {
	opts   Options
	log    *slog.Logger
	client *http.Client
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dirty  chan struct{} // wakes the persister

	// nsubs mirrors len(subs), so that the message path of a node without
	// subscribers takes no lock.
	nsubs    atomic.Int64
	nrefused atomic.Int64 // mirrors len(refused)

	mu     sync.Mutex // guards the following
	closed bool
	subs   map[string]*sub // by session id
	// refused are the sessions that asked to subscribe at creation while
	// flex-push-on-join was off, with their subscription keys then: a
	// later update subscribes them only if it changes those keys.
	refused map[string]string
	dests   map[string]chan *job
	retries map[clock.Timer]struct{}
	unsaved map[string]bool // session ids whose outbox record must be written (true) or deleted (false)
	stats   Stats
}

var _ chat.Journal = (*Service)(nil)

// New returns a running Service; Close stops it.
func New(opts Options) *Service {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		opts: opts, log: opts.Log, client: opts.Client, ctx: ctx, cancel: cancel,
		dirty: make(chan struct{}, 1),
		subs:  map[string]*sub{}, refused: map[string]string{}, dests: map[string]chan *job{}, retries: map[clock.Timer]struct{}{},
		unsaved: map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if opts.Outbox != nil {
		s.wg.Add(1)
		go s.persist()
	}
	return s
}

// on reports whether push delivery is configured, with the config.
func (s *Service) on() (*config.Config, bool) {
	cfg := s.opts.Config()
	return cfg, cfg.Settings.FlexPushEnabled && cfg.Push.CustomHTTPURL != "" && cfg.Push.Has(DeviceCustomHTTP)
}

// customer returns the session's customer: the first flex client.
func customer(info *chat.Info) (chat.Participant, bool) {
	for _, p := range info.Participants {
		if p.Type == chat.Client && p.Protocol == chat.Flex {
			return p, true
		}
	}
	return chat.Participant{}, false
}

// SessionCreated subscribes the customer when the request asked for push
// notifications and flex-push-on-join allows it; a restored session (which
// reaches the push service as created) subscribes again by the same rule,
// unless Resume says no.
func (s *Service) SessionCreated(info *chat.Info) chat.Waiter {
	if info.Restored && s.opts.Resume != nil && !s.opts.Resume(info.ID) {
		return nil // restored without its push notifications
	}
	if cfg, _ := s.on(); cfg.Settings.FlexPushOnJoin {
		s.subscribe(info)
	} else if _, ok := ParseSubscription(info.UserData); ok {
		s.mu.Lock()
		s.refused[info.ID] = keysOf(info.UserData)
		s.nrefused.Store(int64(len(s.refused)))
		s.mu.Unlock()
	}
	return nil
}

// SessionUpdated subscribes after an Update Data that carries the
// subscription keys (or changes them), and unsubscribes after one that
// sets GCTI_Chat_PushSubscribe to anything but true. Other updates of the
// session (its language, say) change nothing.
func (s *Service) SessionUpdated(info *chat.Info) chat.Waiter {
	if Unsubscribes(info.UserData) {
		s.drop(info.ID)
		return nil
	}
	if _, ok := ParseSubscription(info.UserData); !ok {
		return nil
	}
	s.mu.Lock()
	_, have := s.subs[info.ID]
	keys, wasRefused := s.refused[info.ID]
	if wasRefused && keys != keysOf(info.UserData) {
		delete(s.refused, info.ID)
		s.nrefused.Store(int64(len(s.refused)))
		wasRefused = false
	}
	s.mu.Unlock()
	if !have && !wasRefused {
		s.subscribe(info)
	}
	return nil
}

// keysOf is the subscription keys of user data, as one string.
func keysOf(ud kv.Map) string {
	var b strings.Builder
	for _, k := range [...]string{KeySubscribe, KeyDeviceID, KeySDKDeviceID, KeyDeviceType, KeySDKDeviceType, KeyIncludePayload, KeyNotifyRequstor, KeyResend} {
		b.WriteString(ud.String(k))
		b.WriteByte(0)
	}
	return b.String()
}

// subscribe records a subscription. At creation the customer has not joined
// yet: its user id is filled in by its join event.
func (s *Service) subscribe(info *chat.Info) {
	sb, ok := ParseSubscription(info.UserData)
	if !ok {
		return
	}
	p, ok := customer(info)
	if ok && p.Left {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if old := s.subs[info.ID]; old != nil {
		old.Subscription = sb
		return
	}
	s.subs[info.ID] = &sub{Subscription: sb, SessionID: info.ID, UserID: p.UserID, Secret: p.Secret, Next: info.Next + 1}
	s.nsubs.Store(int64(len(s.subs)))
}

// drop ends a subscription and its pending notification.
func (s *Service) drop(sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb := s.subs[sessionID]; sb != nil {
		s.stopLocked(sb)
		delete(s.subs, sessionID)
		s.nsubs.Store(int64(len(s.subs)))
		s.markLocked(sessionID, false)
	}
}

// EventAppended queues a notification for an event the subscribed customer
// may see. It runs under the session's lock: it copies, queues and returns.
func (s *Service) EventAppended(sessionID string, ev *chat.Event) chat.Waiter {
	if s.nsubs.Load() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.subs[sessionID]
	if sb == nil || s.closed {
		return nil
	}
	sb.Next = ev.ID() + 1
	if sb.UserID == "" {
		if ev.Kind == chat.NewParty && ev.From.Type == chat.Client {
			sb.UserID = ev.From.UserID
		}
		return nil
	}
	if ev.Kind == chat.PartyLeft && ev.From.UserID == sb.UserID {
		// The customer is gone: one last notice, then the subscription ends.
		cfg, on := s.on()
		if on {
			if sb.Reliable {
				j := &job{s: *sb, trigger: true, ended: true}
				j.s.NotifyPos, j.s.Attempt = -1, 0
				s.queueLocked(cfg, j)
			} else if sb.Requestor {
				s.queueLocked(cfg, &job{s: *sb, ev: *ev, hasEv: true, ended: true})
			}
		}
		s.stopLocked(sb)
		delete(s.subs, sessionID)
		s.nsubs.Store(int64(len(s.subs)))
		s.markLocked(sessionID, false)
		return nil
	}
	if ev.Visibility != chat.VisAll || !ev.VisibleTo(sb.UserID, chat.Client) {
		return nil // INT and VIP never reach customers
	}
	if ev.From.UserID == sb.UserID && !sb.Requestor {
		return nil
	}
	cfg, on := s.on()
	if !on {
		return nil
	}
	if !sb.Reliable {
		s.queueLocked(cfg, &job{s: *sb, ev: *ev, hasEv: true})
		return nil
	}
	if sb.Pending {
		return nil // the trigger already out announces this event too
	}
	sb.Pending, sb.NotifyPos, sb.Attempt = true, ev.ID(), 0
	s.queueLocked(cfg, &job{s: *sb, trigger: true})
	s.armLocked(cfg, sb, cfg.Settings.FlexPushResendDelay)
	return nil
}

// SessionClosed ends the session's subscription; a reliable subscriber is
// told the chat ended.
func (s *Service) SessionClosed(f *chat.Final) chat.Waiter {
	if s.nsubs.Load() == 0 && s.nrefused.Load() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refused[f.ID]; ok {
		delete(s.refused, f.ID)
		s.nrefused.Store(int64(len(s.refused)))
	}
	sb := s.subs[f.ID]
	if sb == nil {
		return nil
	}
	if cfg, on := s.on(); on && sb.Reliable && !s.closed {
		j := &job{s: *sb, trigger: true, ended: true}
		j.s.NotifyPos, j.s.Attempt, j.s.Next = -1, 0, f.Next+1
		s.queueLocked(cfg, j)
	}
	s.stopLocked(sb)
	delete(s.subs, f.ID)
	s.nsubs.Store(int64(len(s.subs)))
	s.markLocked(f.ID, false)
	return nil
}

// Refreshed acknowledges the pending reliable notification of a session:
// the customer has pulled its transcript. The customer API calls it on
// every refresh.
func (s *Service) Refreshed(sessionID, userID string, _ int) {
	if s.nsubs.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.subs[sessionID]
	if sb == nil || sb.UserID != userID || !sb.Pending {
		return
	}
	s.stopLocked(sb)
	sb.Pending, sb.Attempt = false, 0
	s.stats.Acked++
	s.markLocked(sessionID, false)
}

// Ping sends one notification to the session's subscribed customer now (a
// trigger in reliable mode, else the device id alone), whatever its
// connection; it reports whether the customer is subscribed. This is the
// flex-push-timeout ping of the session timers.
func (s *Service) Ping(sessionID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.subs[sessionID]
	cfg, on := s.on()
	if sb == nil || !on || s.closed {
		return false
	}
	j := &job{s: *sb, trigger: sb.Reliable}
	if !sb.Pending {
		j.s.NotifyPos = sb.Next
	}
	j.s.Payload = false
	s.queueLocked(cfg, j)
	return true
}

// armLocked schedules the next resend check of a reliable notification.
func (s *Service) armLocked(cfg *config.Config, sb *sub, d time.Duration) {
	if sb.timer != nil {
		sb.timer.Stop()
	}
	sb.Due = s.opts.Clock.Now().Add(d)
	id := sb.SessionID
	sb.timer = s.opts.Clock.AfterFunc(d, func() { s.resend(id) })
	s.markLocked(id, true)
}

func (s *Service) stopLocked(sb *sub) {
	if sb.timer != nil {
		sb.timer.Stop()
		sb.timer = nil
	}
}

// resend runs when a reliable notification had no refresh in time: it is
// sent again with the next attempt number, or given up once
// flex-push-resend-attempts resends have been made.
func (s *Service) resend(sessionID string) {
	octx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	mine := s.owned(octx, sessionID)
	cancel()
	if !mine {
		s.Forget(sessionID) // its owner resends it (handover.go)
		return
	}
	connected := s.opts.Connected != nil && s.opts.Connected(sessionID)
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.subs[sessionID]
	if sb == nil || !sb.Pending || s.closed {
		return
	}
	sb.timer = nil
	cfg, on := s.on()
	if connected || !on || sb.Attempt >= cfg.Settings.FlexPushResendAttempts {
		if !connected {
			s.stats.Expired++
		}
		sb.Pending, sb.Attempt = false, 0
		s.markLocked(sessionID, false)
		return
	}
	sb.Attempt++
	s.stats.Resends++
	s.queueLocked(cfg, &job{s: *sb, trigger: true})
	s.armLocked(cfg, sb, cfg.Settings.FlexPushResendDelay)
}

// queueLocked puts a notification on its destination's queue, starting the
// destination's sender on first use; a full queue drops it.
func (s *Service) queueLocked(cfg *config.Config, j *job) {
	j.url = cfg.Push.CustomHTTPURL
	j.enqueued = s.opts.Clock.Now()
	ch := s.dests[j.url]
	if ch == nil {
		ch = make(chan *job, max(cfg.Push.QueueSize, 1))
		s.dests[j.url] = ch
		s.wg.Add(1)
		go s.send(ch)
	}
	select {
	case ch <- j:
		s.stats.Queued++
	default:
		s.stats.Dropped++
		s.log.Warn("push: queue full, notification dropped", "session", j.s.SessionID, "url", j.url)
	}
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Subscribed = len(s.subs)
	for _, sb := range s.subs {
		if sb.Pending {
			st.Pending++
		}
	}
	return st
}

// Close stops the senders (notifications still queued are not sent, and
// the pending reliable ones stay in the outbox for the next start), the
// resend timers and the persister, after it has written what is unsaved.
func (s *Service) Close(ctx context.Context) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, sb := range s.subs {
		s.stopLocked(sb)
	}
	for t := range s.retries {
		t.Stop()
	}
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
