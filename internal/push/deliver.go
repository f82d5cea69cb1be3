package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// maxBackoffFactor caps the retry wait at this many times delivery-backoff.
const maxBackoffFactor = 64

// send is the sender of one destination: it posts the queued notifications
// one after the other, as the gateway does, until Close.
func (s *Service) send(ch chan *job) {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case j := <-ch:
			s.deliver(j)
		}
	}
}

// deliver makes one POST of a notification and, if it fails, schedules the
// next try on the clock.
func (s *Service) deliver(j *job) {
	if j.hasEv && !j.ended && s.opts.Connected != nil && s.opts.Connected(j.s.SessionID) {
		s.count(func(st *Stats) { st.Skipped++ })
		return
	}
	cfg := s.opts.Config()
	if j.s.Secret == "" && s.opts.Secret != nil && ParseContent(cfg.Settings.FlexPushContent).SecureKey {
		j.s.Secret = s.opts.Secret(j.s.SessionID, j.s.UserID)
		s.mu.Lock()
		if sb := s.subs[j.s.SessionID]; sb != nil && sb.UserID == j.s.UserID {
			sb.Secret = j.s.Secret
		}
		s.mu.Unlock()
	}
	body, ok := s.body(j, cfg.Settings.FlexPushContent)
	if !ok {
		s.count(func(st *Stats) { st.Skipped++ })
		return
	}
	j.try++
	start := s.opts.Clock.Now()
	err := s.post(j.url, body, cfg.Push.DeliveryTimeout)
	if err == nil {
		lat := s.opts.Clock.Now().Sub(start)
		s.count(func(st *Stats) {
			st.Attempts++
			st.Delivered++
			st.LatencyCount++
			st.LatencyTotal += lat
			st.LatencyMax = max(st.LatencyMax, lat)
		})
		return
	}
	s.log.Warn("push: delivery failed", "session", j.s.SessionID, "try", j.try, "err", err)
	if j.try >= cfg.Push.DeliveryAttempts {
		s.count(func(st *Stats) { st.Attempts++; st.Failures++; st.GivenUp++ })
		return
	}
	wait := backoff(cfg.Push.DeliveryBackoff, j.try)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Attempts++
	s.stats.Failures++
	if s.closed {
		return
	}
	var t clock.Timer
	t = s.opts.Clock.AfterFunc(wait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.retries, t)
		if s.closed {
			return
		}
		ch := s.dests[j.url]
		select {
		case ch <- j:
		default:
			s.stats.GivenUp++ // no room for the retry
		}
	})
	s.retries[t] = struct{}{}
}

// backoff is the wait before try+1: base, 2×base, 4×base, ... capped at
// maxBackoffFactor×base.
func backoff(base time.Duration, try int) time.Duration {
	f := 1 << min(try-1, 6)
	return base * time.Duration(min(f, maxBackoffFactor))
}

func (s *Service) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Service) post(url string, body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// The wire form of a notification: the gateway's custom-HTTP body, a
// "message" holding a Chat API v2 answer and the device id.
type envelope struct {
	Message  *message `json:"message,omitempty"`
	DeviceID string   `json:"deviceId"`
}

type message struct {
	SecureKey    string            `json:"secureKey,omitempty"`
	ChatID       string            `json:"chatId"`
	NextPosition int               `json:"nextPosition"`
	Messages     []json.RawMessage `json:"messages"`
	Alias        string            `json:"alias"`
	ChatEnded    bool              `json:"chatEnded"`
	UserID       string            `json:"userId"`
	StatusCode   int               `json:"statusCode"`
	Monitored    bool              `json:"monitored"`
	UserData     map[string]string `json:"userData,omitempty"`
}

type party struct {
	Nickname      string `json:"nickname"`
	ParticipantID int    `json:"participantId"`
	Type          string `json:"type"`
}

type trigger struct {
	From     party             `json:"from"`
	Index    int               `json:"index"`
	Text     string            `json:"text"`
	Type     string            `json:"type"`
	UTCTime  int64             `json:"utcTime"`
	UserData map[string]string `json:"userData"`
}

// TriggerText is the text of a reliable-mode trigger.
const TriggerText = "PUSH-NOTIFICATION"

// deprecated stands in the chatId and userId of a notification: clients
// take the identifiers from the userData that flex-push-content selects.
const deprecated = "deprecated"

// ids returns the flex-push-content identifiers of a subscriber.
func (s *Service) ids(sb *sub, content string) map[string]string {
	c := ParseContent(content)
	m := map[string]string{}
	if c.SessionID {
		m["session-id"] = sb.SessionID
	}
	if c.UserID {
		m["user-id"] = sb.UserID
	}
	if c.AppDBID {
		m["app-dbid"] = s.opts.Alias
	}
	if c.SecureKey {
		m["secure-key"] = sb.Secret
	}
	return m
}

func (s *Service) encode(ev *chat.Event) ([]byte, bool) {
	if s.opts.Encode == nil {
		return nil, true
	}
	return s.opts.Encode(nil, ev)
}

// body encodes a notification: a reliable trigger, an event with its
// payload, or the device id alone.
func (s *Service) body(j *job, content string) ([]byte, bool) {
	sb := &j.s
	env := envelope{DeviceID: sb.DeviceID}
	ids := s.ids(sb, content)
	key := ids["secure-key"]
	switch {
	case j.trigger:
		ud := ids
		ud["notify-attempt"] = strconv.Itoa(sb.Attempt)
		ud["notify-position"] = strconv.Itoa(sb.NotifyPos)
		ev, _ := json.Marshal(trigger{
			From: party{Type: "Client"}, Text: TriggerText, Type: "PushUrl",
			UTCTime: j.enqueued.UnixMilli(), UserData: ud,
		})
		env.Message = &message{SecureKey: key, ChatID: deprecated, NextPosition: sb.Next, Messages: []json.RawMessage{ev},
			Alias: s.opts.Alias, ChatEnded: j.ended, UserID: deprecated}
	case j.hasEv:
		ev, ok := s.encode(&j.ev)
		if !ok {
			return nil, false // no customer form: nothing to announce
		}
		if !sb.Payload || ev == nil {
			break
		}
		env.Message = &message{SecureKey: key, ChatID: deprecated, NextPosition: j.ev.ID() + 1, Messages: []json.RawMessage{ev},
			Alias: s.opts.Alias, ChatEnded: j.ended, UserID: deprecated, UserData: ids}
		if len(ids) == 0 {
			env.Message.UserData = nil
		}
	}
	b, err := json.Marshal(env)
	return b, err == nil
}
