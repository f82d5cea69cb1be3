package cometd

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/confab/confab/internal/api/webapi"
)

// connectReq is a /meta/connect to hold, handed back to the transport.
type connectReq struct {
	c       *Client
	msg     Message
	timeout time.Duration // 0: answer at once
}

// handle processes one message that is not a /meta/connect (and the
// checks of a connect), returning its reply. For a valid connect it
// returns a connectReq instead and no reply. browser is the request's
// BAYEUX_BROWSER id (issued by the transport when it had none).
func (s *Server) handle(ctx context.Context, m *Message, transport, browser string) (*Message, *connectReq) {
	if e := m.check(); e != "" {
		return s.fail(m, e, ""), nil
	}
	if m.Channel == ChannelHandshake {
		return s.handshake(ctx, m, browser), nil
	}
	if m.ClientID == "" {
		return s.fail(m, errNoClientID, ReconnectHandshake), nil
	}
	c := s.lookup(m.ClientID, browser)
	if c == nil {
		if s.wasReplacedID(m.ClientID) {
			return s.fail(m, errReplaced, ReconnectNone), nil
		}
		return s.fail(m, errUnknownClient, ReconnectHandshake), nil
	}
	c.touch()
	switch m.Channel {
	case ChannelConnect:
		if m.ConnectionType != "" && !slices.Contains(serverTransports(), m.ConnectionType) {
			return s.fail(m, bayeuxError(501, m.ConnectionType, "Unsupported connection type"), ""), nil
		}
		return nil, s.connect(c, m)
	case ChannelDisconnect:
		s.remove(c, "disconnect")
		r := s.reply(m, true)
		return r, nil
	case ChannelSubscribe, ChannelUnsubscribe:
		return s.subscribe(c, m), nil
	}
	if strings.HasPrefix(m.Channel, "/meta/") {
		return s.fail(m, bayeuxError(400, m.Channel, "Unknown meta channel"), ""), nil
	}
	return s.publish(ctx, c, m), nil
}

// reply starts the reply to m: same channel and id.
func (s *Server) reply(m *Message, ok bool) *Message {
	return &Message{Channel: m.Channel, ID: m.ID, ClientID: m.ClientID, Successful: boolp(ok)}
}

// fail is an unsuccessful reply with the error and, when reconnect is set,
// that advice.
func (s *Server) fail(m *Message, err, reconnect string) *Message {
	ch := m.Channel
	if !validChannel(ch) {
		ch = "/meta/unknown"
	}
	r := &Message{Channel: ch, ID: m.ID, ClientID: m.ClientID, Successful: boolp(false), Error: err}
	if !validID(m.ID) {
		r.ID = nil
	}
	if reconnect != "" {
		r.Advice = &Advice{Reconnect: reconnect, Interval: ms(0)}
	}
	return r
}

// advice is the server's normal advice.
func (s *Server) advice() *Advice {
	return &Advice{Reconnect: ReconnectRetry, Interval: ms(s.interval.Milliseconds()), Timeout: ms(s.timeout.Milliseconds())}
}

func (s *Server) handshake(ctx context.Context, m *Message, browser string) *Message {
	if m.Version != "" && !strings.HasPrefix(m.Version, "1.") {
		return s.fail(m, bayeuxError(502, m.Version, "Unsupported protocol version"), "")
	}
	if len(m.SupportedConnectionTypes) > 0 && !slices.ContainsFunc(m.SupportedConnectionTypes, func(t string) bool {
		return slices.Contains(serverTransports(), t)
	}) {
		return s.fail(m, bayeuxError(501, strings.Join(serverTransports(), ","), "Unsupported connection types"), "")
	}
	if s.handingOver() {
		// Clients go to another node: the load balancer stops sending
		// them here once /readyz answers 503.
		r := s.fail(m, bayeuxError(503, "", "Server draining"), ReconnectHandshake)
		r.Advice.Interval = ms(1000)
		return r
	}
	adm := webapi.HandshakeAdmission{Allowed: true}
	if s.api != nil {
		adm = s.api.AdmitHandshake(ctx)
	}
	if !adm.Allowed {
		return s.refuseHandshake(m)
	}
	c, full := s.add(browser, adm.Addr, adm.MaxLive)
	if full {
		return s.refuseHandshake(m)
	}
	if c == nil {
		r := s.fail(m, bayeuxError(503, "", "Server unavailable"), ReconnectHandshake)
		r.Advice.Interval = ms(5000)
		return r
	}
	r := s.reply(m, true)
	r.ClientID = c.id
	r.Version = "1.0"
	r.SupportedConnectionTypes = serverTransports()
	r.Advice = s.advice()
	return r
}

// refuseHandshake answers a handshake over the client address's bounds:
// error 429, advice to handshake again in a minute.
func (s *Server) refuseHandshake(m *Message) *Message {
	r := s.fail(m, errHandshakeRate, ReconnectHandshake)
	r.Advice.Interval = ms(60000)
	return r
}

// connect returns the hold of a connect: the first connect after a
// handshake, and one whose advice asks for timeout 0, are answered at once
// (with what is queued); others are held up to the server's timeout, or
// the client's advice timeout when shorter.
func (s *Server) connect(c *Client, m *Message) *connectReq {
	cr := &connectReq{c: c, msg: *m, timeout: s.timeout}
	c.mu.Lock()
	first := !c.connected
	c.connected = true
	c.mu.Unlock()
	if first {
		cr.timeout = 0
	}
	if m.Advice != nil && m.Advice.Timeout != nil {
		if t := time.Duration(*m.Advice.Timeout) * time.Millisecond; t >= 0 && t < cr.timeout {
			cr.timeout = t
		}
	}
	return cr
}

// connectReply answers a held connect.
func (s *Server) connectReply(cr *connectReq, why holdReason, dropped bool) *Message {
	switch {
	case dropped || why == heldKicked && cr.c.isGone():
		if dropped {
			s.remove(cr.c, whySlow)
		}
		if cr.c.wasReplaced() {
			return s.fail(&cr.msg, errReplaced, ReconnectNone)
		}
		return s.fail(&cr.msg, errUnknownClient, ReconnectHandshake)
	case why == heldStopping:
		r := s.reply(&cr.msg, true)
		r.Advice = &Advice{Reconnect: ReconnectHandshake, Interval: ms(0)}
		return r
	}
	r := s.reply(&cr.msg, true)
	r.Advice = s.advice()
	return r
}

func (c *Client) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// subscribe handles /meta/subscribe and /meta/unsubscribe. Only the Chat
// API v2 service channels may be subscribed to.
func (s *Server) subscribe(c *Client, m *Message) *Message {
	chs, ok := m.subscriptions()
	if !ok {
		return s.fail(m, bayeuxError(400, "", "subscription missing or malformed"), "")
	}
	for _, ch := range chs {
		if _, ok := chatServiceName(ch); !ok {
			return s.fail(m, bayeuxError(403, ch, "Subscription denied"), "")
		}
	}
	c.mu.Lock()
	for _, ch := range chs {
		if m.Channel == ChannelSubscribe {
			c.subs[ch] = true
		} else {
			delete(c.subs, ch)
		}
	}
	c.mu.Unlock()
	r := s.reply(m, true)
	r.Subscription = m.Subscription
	return r
}

// publish handles a message to a non-meta channel: only the Chat API v2
// service channels take publishes.
func (s *Server) publish(ctx context.Context, c *Client, m *Message) *Message {
	svc, ok := chatServiceName(m.Channel)
	if !ok {
		return s.fail(m, bayeuxError(403, m.Channel, "Publish denied"), "")
	}
	if e := s.chat.publish(ctx, c, m.Channel, svc, m.Data); e == errElsewhere {
		return s.fail(m, errUnknownClient, ReconnectHandshake)
	} else if e != "" {
		return s.fail(m, e, "")
	}
	return s.reply(m, true)
}
