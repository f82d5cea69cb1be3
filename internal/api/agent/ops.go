package agent

import (
	"strings"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/richmsg"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/validate"
)

// apply carries out one decoded request and returns its answer, to be sent
// once what it appended is durable.
func (c *conn) apply(req *request) pendingAck {
	if ra, ok := c.routeRemote(req); ok {
		return ra
	}
	a := pendingAck{id: req.ID}
	var err error
	switch req.Op {
	case wire.OpPing:
		a.frame = c.result(req)
	case wire.OpList:
		a.frame = c.result(req)
		for _, v := range c.h.opts.Router.Waiting(req.Queue) {
			a.frame.Interactions = append(a.frame.Interactions, encodeInteraction(v))
		}
	case wire.OpAccept:
		err = c.accept(req, &a)
	case wire.OpJoin:
		err = c.join(req, &a)
	case wire.OpSend:
		err = c.send(req, &a)
	case wire.OpNotify:
		err = c.notify(req, &a)
	case wire.OpRelease:
		err = c.release(req, &a)
	default:
		err = c.applyRouting(req, &a)
	}
	if err != nil {
		a.frame = errorFrame(req.ID, req.Op, classify(err, ""))
		a.waits, a.after = false, nil
	}
	return a
}

func (c *conn) result(req *request) wire.Frame {
	return wire.Frame{Type: wire.FrameResult, ID: req.ID, Op: req.Op}
}

// receipt fills the answer of a request that appended an event.
func (c *conn) receipt(req *request, a *pendingAck, sessionID string, rc chat.Receipt) {
	a.frame = c.result(req)
	a.frame.SessionID = sessionID
	a.frame.EventID = rc.Pos + 1
	// pos and time are set on the frame where it is kept (conn.answer):
	// one allocation for the frame and both.
	a.stamped, a.pos, a.at = true, rc.Pos, rc.Time.UTC()
	a.wait, a.waits = rc, true // by value: no interface boxing per answer
}

// joinRequest builds the engine's join request from an accept or join.
func (c *conn) joinRequest(req *request) (chat.JoinRequest, error) {
	t := c.userType()
	if req.UserType != "" {
		asked, err := chat.ParseUserType(req.UserType)
		if err != nil || (asked != chat.Agent && asked != chat.Supervisor) {
			return chat.JoinRequest{}, fail(wire.CodeBadRequest, "userType", "userType must be AGENT or SUPERVISOR")
		}
		if asked == chat.Supervisor && c.agent.Type != store.UserSupervisor {
			return chat.JoinRequest{}, fail(wire.CodeForbidden, "userType", "account %s is not a supervisor", c.agent.ID)
		}
		t = asked
	}
	vis, err := chat.ParseVisibility(req.Visibility)
	if err != nil {
		return chat.JoinRequest{}, fail(wire.CodeBadRequest, "visibility", "visibility must be ALL, INT or VIP")
	}
	lim := c.limits()
	if err := checkText("nickname", validate.Nickname, req.Nickname, lim); err != nil {
		return chat.JoinRequest{}, err
	}
	if err := checkText("text", validate.MessageText, req.Text, lim); err != nil {
		return chat.JoinRequest{}, err
	}
	if err := checkKV("userData", validate.UserData, req.userData, lim); err != nil {
		return chat.JoinRequest{}, err
	}
	if _, ok := req.userData[wire.KeyWebapiToken]; ok {
		// The restoration token was for the cluster (relay.go), not the
		// party's data.
		req.userData = req.userData.Clone()
		delete(req.userData, wire.KeyWebapiToken)
	}
	if n := validate.DropServerOwned(req.userData); n > 0 {
		c.h.dropped.Add(int64(n))
		c.h.log.Warn("agent join user data: server-owned keys dropped", "agent", c.agent.ID, "keys", n)
	}
	nick := req.Nickname
	if nick == "" {
		nick = c.agent.Name
	}
	if nick == "" {
		nick = c.agent.ID
	}
	ud := req.userData
	if c.agent.Type == store.UserBot { // a bot account always joins as a bot
		ud = ud.Clone()
		if ud == nil {
			ud = kv.Map{}
		}
		ud[chat.KeySetPartyStyle] = "BOT"
	}
	return chat.JoinRequest{
		UserID: chat.NewUserID(), Nick: nick, Type: t, Visibility: vis, Protocol: chat.Basic,
		PersonID: c.agent.ID, UserData: ud, Text: req.Text,
	}, nil
}

func (c *conn) accept(req *request, a *pendingAck) error {
	if req.InteractionID == "" {
		return fail(wire.CodeBadRequest, "interactionId", "interactionId is required")
	}
	jr, err := c.joinRequest(req)
	if err != nil {
		return err
	}
	if err := c.checkMember(req.InteractionID); err != nil {
		return err
	}
	acc, err := c.h.opts.Router.Accept(req.InteractionID, c.agent.ID, jr)
	if err != nil {
		return err
	}
	m := &member{sess: acc.Session, userID: acc.Participant.UserID, joinPos: acc.Receipt.Pos}
	c.addMember(m)
	c.receipt(req, a, acc.Session.ID(), acc.Receipt)
	a.frame.UserID = m.userID
	ix := encodeInteraction(acc.Interaction)
	a.frame.Interaction = &ix
	c.located(a, acc.Session)
	a.after = func() { c.startWatch(m) }
	return nil
}

func (c *conn) join(req *request, a *pendingAck) error {
	if req.SessionID == "" {
		return fail(wire.CodeBadRequest, "sessionId", "sessionId is required")
	}
	jr, err := c.joinRequest(req)
	if err != nil {
		return err
	}
	if err := c.checkMember(req.SessionID); err != nil {
		return err
	}
	sess, err := c.h.opts.Engine.Get(req.SessionID)
	if err != nil {
		return err
	}
	if req.UserID != "" {
		// A rejoin as a party this account had (after a failover or a
		// restoration): allowed as the first join was.
		if err := c.mayRejoin(sess, req.UserID); err != nil {
			return err
		}
		jr.UserID = req.UserID
	} else if _, offered := c.h.opts.Router.OpenOffer(req.SessionID, c.agent.ID); offered {
		// Joining what is offered to this agent is accepting the offer.
		req.InteractionID = req.SessionID
		return c.accept(req, a)
	} else if err := c.mayJoin(sess); err != nil {
		return err
	}
	p, rc, err := sess.Join(jr)
	if err != nil {
		return err
	}
	m := &member{sess: sess, userID: p.UserID, joinPos: rc.Pos}
	c.addMember(m)
	c.receipt(req, a, sess.ID(), rc)
	a.frame.UserID = m.userID
	c.located(a, sess)
	a.after = func() { c.startWatch(m) }
	return nil
}

// mayRejoin allows a join as userID: a party of this account in the
// session that has left.
func (c *conn) mayRejoin(sess *chat.Session, userID string) error {
	p, err := sess.Participant(userID)
	if err != nil || p.PersonID != c.agent.ID {
		return fail(wire.CodeForbidden, "userId", "user %s of session %s is not a party of account %s", userID, sess.ID(), c.agent.ID)
	}
	if !p.Left {
		return fail(wire.CodeJoined, "userId", "user %s is in session %s already", userID, sess.ID())
	}
	return nil
}

// located adds, in a cluster, where the session lives to an accept or
// join result: this node, whether it was restored, and its restoration
// token (also in the accepted interaction's user data).
func (c *conn) located(a *pendingAck, sess *chat.Session) {
	cl := c.h.opts.Cluster
	if cl == nil {
		return
	}
	a.frame.Node = cl.NodeID()
	a.frame.Restored = sess.Info().Restored
	a.frame.WebapiToken = cl.Token(sess.ID())
	if ix := a.frame.Interaction; ix != nil {
		ud := make(map[string]any, len(ix.UserData)+1)
		for k, v := range ix.UserData {
			ud[k] = v
		}
		ud[wire.KeyWebapiToken] = a.frame.WebapiToken
		ix.UserData = ud
	}
}

// joined returns the member for the request's session.
func (c *conn) joined(req *request) (*member, error) {
	if req.SessionID == "" {
		return nil, fail(wire.CodeBadRequest, "sessionId", "sessionId is required")
	}
	m := c.member(req.SessionID)
	if m == nil {
		return nil, fail(wire.CodeNotJoined, "sessionId", "this socket is not in session %s", req.SessionID)
	}
	return m, nil
}

// target checks the visibility and receiver of a message or notice.
func (c *conn) target(req *request, m *member) (chat.Visibility, error) {
	vis, err := chat.ParseVisibility(req.Visibility)
	if err != nil {
		return 0, fail(wire.CodeBadRequest, "visibility", "visibility must be ALL, INT or VIP")
	}
	if req.ReceiverID != "" {
		p, err := m.sess.Participant(req.ReceiverID)
		if err != nil || p.Left {
			return 0, fail(wire.CodeBadRequest, "receiverId", "receiver %s is not in the session", req.ReceiverID)
		}
	}
	return vis, nil
}

func (c *conn) send(req *request, a *pendingAck) error {
	m, err := c.joined(req)
	if err != nil {
		return err
	}
	if req.Text == "" && len(req.attrs) == 0 {
		return fail(wire.CodeBadRequest, "text", "a message needs text (the fallback text of rich content)")
	}
	lim := c.limits()
	if err := first(
		checkText("text", validate.MessageText, req.Text, lim),
		checkText("msgType", validate.MessageType, req.MsgType, lim),
		checkKV("eventAttributes", validate.EventAttributes, req.attrs, lim),
	); err != nil {
		return err
	}
	if e := richmsg.Check("text", req.Text, req.attrs); e != nil {
		return fail(wire.CodeBadRequest, e.Field, "%s", e.Reason)
	}
	treat := strings.ToUpper(req.TreatAs)
	if treat != "" && treat != "NORMAL" && treat != "SYSTEM" {
		return fail(wire.CodeBadRequest, "treatAs", "treatAs must be NORMAL or SYSTEM")
	}
	vis, err := c.target(req, m)
	if err != nil {
		return err
	}
	rc, err := m.sess.Send(m.userID, chat.Msg{
		Text: req.Text, Type: req.MsgType, TreatAs: treat, Visibility: vis,
		ReceiverID: req.ReceiverID, Attrs: req.attrs, ClientMsgID: req.ID,
	})
	if err != nil {
		return err
	}
	c.receipt(req, a, m.sess.ID(), rc)
	return nil
}

func (c *conn) notify(req *request, a *pendingAck) error {
	m, err := c.joined(req)
	if err != nil {
		return err
	}
	if req.NoticeType == "" {
		return fail(wire.CodeBadRequest, "noticeType", "noticeType is required")
	}
	nt, err := chat.ParseNoticeType(req.NoticeType)
	if err != nil {
		return fail(wire.CodeBadRequest, "noticeType", "unknown noticeType %q", req.NoticeType)
	}
	lim := c.limits()
	textRule := validate.NoticeText
	switch nt {
	case chat.PushURL:
		textRule = validate.PushURL
	case chat.NickChanged:
		textRule = validate.Nickname
	}
	if err := first(
		checkText("text", textRule, req.Text, lim),
		checkKV("userData", validate.UserData, req.userData, lim),
		checkKV("eventAttributes", validate.EventAttributes, req.attrs, lim),
	); err != nil {
		return err
	}
	var rc chat.Receipt
	switch nt {
	case chat.IdleAlert, chat.IdleClose, chat.IdleSet:
		return fail(wire.CodeBadRequest, "noticeType", "%s notices are sent by the server only", nt)
	case chat.NickChanged:
		if strings.TrimSpace(req.Text) == "" {
			return fail(wire.CodeBadRequest, "text", "the new nickname (text) is required")
		}
		rc, err = m.sess.ChangeNickname(m.userID, req.Text)
	default:
		if nt == chat.PushURL && strings.TrimSpace(req.Text) == "" {
			return fail(wire.CodeBadRequest, "text", "text: %s", validate.ReasonURL)
		}
		vis, terr := c.target(req, m)
		if terr != nil {
			return terr
		}
		ud := req.userData
		if nt == chat.SysCommand && req.Text == cmdFileUpload && c.h.opts.Files != nil {
			if ud, err = c.h.opts.Files.AttachFile(c.ctx, c.agent.ID, m.sess.ID(), ud); err != nil {
				return err
			}
		}
		rc, err = m.sess.Notify(m.userID, chat.Note{
			Type: nt, Text: req.Text, Visibility: vis, ReceiverID: req.ReceiverID,
			UserData: ud, Attrs: req.attrs,
		})
	}
	if err != nil {
		return err
	}
	c.receipt(req, a, m.sess.ID(), rc)
	return nil
}

func (c *conn) release(req *request, a *pendingAck) error {
	m, err := c.joined(req)
	if err != nil {
		return err
	}
	after, err := chat.ParseAfterAction(req.AfterAction)
	if err != nil {
		return fail(wire.CodeBadRequest, "afterAction", "afterAction must be KEEP_ALIVE, CLOSE_IF_NO_AGENTS or FORCE_CLOSE")
	}
	rc, closed, err := m.sess.Leave(chat.LeaveRequest{UserID: m.userID, After: after, Text: req.Text})
	c.dropMember(m) // the watcher still delivers the partyLeft
	if err != nil {
		return err
	}
	c.receipt(req, a, m.sess.ID(), rc)
	a.frame.Closed = closed
	return nil
}

// limits are the shared field limits under the live xml-request-max-size.
func (c *conn) limits() validate.Limits { return validate.LimitsFor(c.h.opts.MaxFrame()) }

// checkText applies the shared rule vf to the frame field named name.
func checkText(name string, vf validate.Field, v string, lim validate.Limits) *opError {
	if p := validate.Text(vf, v, lim); p != nil {
		return fail(wire.CodeBadRequest, name, "%s: %s", name, p.Reason)
	}
	return nil
}

// checkKV applies the shared rule vf to the key-value field named name.
func checkKV(name string, vf validate.Field, m kv.Map, lim validate.Limits) *opError {
	if p := validate.KV(vf, m, lim); p != nil {
		return fail(wire.CodeBadRequest, name, "%s: %s", name, p.Reason)
	}
	return nil
}

// first returns the first refusal, or nil (a nil *opError, typed as error,
// would not be nil).
func first(errs ...*opError) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
