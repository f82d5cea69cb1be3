package webapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/richmsg"
	"github.com/confab/confab/internal/validate"
)

// op is one session operation, called with an authenticated request.
type op func(a *API, rq *request)

// Special read starts for answer (engine positions are ≥ 0).
const (
	readNone   = -1 // no events, only the state
	readNewest = -2 // the newest visible event only
)

// session wraps a session operation: decode the body, authenticate, count
// the request as protocol activity, then run the operation.
func (a *API) session(h op, charged bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg := a.config()
		rq := a.getRequest()
		defer a.putRequest(rq)
		*rq = request{w: w, r: r, cfg: cfg, lim: limitsFor(cfg), chatID: r.PathValue("chatId"), service: r.PathValue("service")}
		if charged && a.throttled(rq.chatID) {
			a.rateRefused(w)
			return
		}
		buf := a.getBuf()
		rq.form = &rq.decoded
		fl := rq.form.decode(r, rq.lim.body, buf)
		a.putBuf(buf) // nothing decoded refers to it
		if fl == nil {
			fl = sessionFields(rq.form)
		}
		if fl != nil {
			a.fail(w, fl)
			return
		}
		a.run(rq, h)
	}
}

// getRequest returns a request to fill; putRequest takes it back once the
// operation has answered (nothing keeps a request: form values own their
// bytes, and no operation outlives its handler).
func (a *API) getRequest() *request {
	if rq, ok := a.requests.Get().(*request); ok {
		return rq
	}
	return new(request)
}

func (a *API) putRequest(rq *request) {
	*rq = request{}
	a.requests.Put(rq)
}

// sessionFields refuses a request that lacks one of the session fields
// with a 400 naming it: a body that carries no credentials was not read as
// the client meant it, and must not be answered as a chat that has ended.
func sessionFields(f *form) *failure {
	for _, name := range [...]string{"userId", "secureKey", "alias"} {
		if f.get(name) == "" {
			return invalid(name, "is required: every chat operation carries userId, secureKey and alias")
		}
	}
	return nil
}

// run authenticates a decoded request, counts it as protocol activity and
// runs the operation. Every transport's session operations pass here.
func (a *API) run(rq *request, h op) {
	if !a.authenticate(rq) {
		a.unauthorized(rq.w)
		return
	}
	if !rq.me.Left {
		rq.sess.Touch(rq.me.UserID) // fails only if the customer has just left
	}
	h(a, rq)
}

// startFor turns a client's transcriptPosition into where an answer reads
// from: an index n ≥ 1 reads from n; 0 reads nothing; -1 reads only the
// newest event; an absent field reads from absent (readNone or 0 = all).
func startFor(f *form, absent int) (int, *failure) {
	pos, ok, fl := f.position("transcriptPosition")
	switch {
	case fl != nil:
		return 0, fl
	case !ok:
		return absent, nil
	case pos == 0:
		return readNone, nil
	case pos == -1:
		return readNewest, nil
	}
	return pos - 1, nil
}

// newestPos returns the engine position of the newest event the customer
// may see (0 when there is none).
func newestPos(s *chat.Session, userID string, buf []chat.Event) (int, []chat.Event) {
	evs, _, _, _ := s.Read(userID, 0, buf[:0])
	for i := len(evs) - 1; i >= 0; i-- {
		if wireTypeFor(&evs[i], userID) != "" {
			return evs[i].Pos, evs
		}
	}
	return 0, evs
}

// answer replies HTTP 200 with the common body: statusCode, the customer's
// identifiers, chatEnded, nextPosition and the events from start (an engine
// position, readNone or readNewest), at most MaxBatch of them.
func (a *API) answer(rq *request, status int, start int, errs ...apiError) {
	evbuf := a.getEvents()
	b := &body{status: status, errs: errs}
	var st stream
	switch start {
	case readNone:
		st = newStream(rq.sess, rq.me.UserID, maxPosition, 0, rq.me.Left, *evbuf)
	case readNewest:
		var pos int
		pos, *evbuf = newestPos(rq.sess, rq.me.UserID, *evbuf)
		st = newStream(rq.sess, rq.me.UserID, pos, a.maxBatch, rq.me.Left, *evbuf)
	default:
		st = newStream(rq.sess, rq.me.UserID, start, a.maxBatch, rq.me.Left, *evbuf)
	}
	bt, err := st.read()
	if err == nil {
		a.fill(b, rq, bt)
	}
	a.send(rq.w, b)
	*evbuf = st.buffer()
	a.putEvents(evbuf)
}

// fill copies a batch and the customer's identifiers into b.
func (a *API) fill(b *body, rq *request, bt batch) {
	a.fillFor(b, rq.me.UserID, rq.me.Secret, rq.sess, bt)
}

// fillFor is fill for the customer userID (with that secureKey) of sess.
func (a *API) fillFor(b *body, userID, secret string, sess *chat.Session, bt batch) {
	b.alias, b.userID, b.secureKey, b.chatID = a.alias, userID, secret, sess.ID()
	b.events = bt.events
	b.next = bt.next
	b.ended = bt.ended
}

// send writes b as an HTTP 200 answer.
func (a *API) send(w http.ResponseWriter, b *body) {
	if c, ok := w.(*capture); ok {
		c.note(b)
	}
	buf := a.getBuf()
	*buf = appendBody(*buf, b)
	writeJSON(w, http.StatusOK, *buf)
	a.putBuf(buf)
}

// changeFailed answers an operation the engine refused. A chat that is over
// for the customer (closed, or the customer left or was removed) is
// statusCode 2 with chatEnded true and the events asked for; a refused value
// is HTTP 400 naming the field; anything else is statusCode 1 (try again).
func (a *API) changeFailed(rq *request, err error, field string, start int) {
	switch {
	case errors.Is(err, chat.ErrClosed), errors.Is(err, chat.ErrNotParticipant):
		rq.me.Left = true
		a.answer(rq, 2, start)
	case errors.Is(err, chat.ErrRate):
		a.rateRefused(rq.w)
	case errors.Is(err, chat.ErrFull):
		a.answer(rq, 2, start, apiError{codeTooLong, "the chat has reached its size limit (session-max-messages, session-max-transcript-bytes): nothing more can be added to it"})
	case errors.Is(err, chat.ErrInvalid):
		a.fail(rq.w, invalid(field, "the value was refused"))
	default:
		a.log.Error("chat operation failed", "chat", rq.chatID, "err", err)
		a.answer(rq, 1, start, apiError{codeUnexpected, "unexpected service error; try again"})
	}
}

// changed answers a successful change once it is durable: statusCode 0, or
// statusCode 1 when the store could not confirm it.
func (a *API) changed(rq *request, rc chat.Receipt, start int) {
	if err := rc.Wait(rq.r.Context()); err != nil {
		a.log.Warn("change not confirmed durable", "chat", rq.chatID, "err", err)
		a.answer(rq, 1, start, apiError{codeUnexpected, "the change could not be confirmed as saved; try again"})
		return
	}
	a.answer(rq, 0, start)
}

func opSend(a *API, rq *request) {
	f, lim := rq.form, rq.lim
	start, fl := startFor(f, readNone)
	if fl != nil {
		a.fail(rq.w, fl)
		return
	}
	msg, fl := f.checked("message", validate.MessageText, lim, codeTooLong)
	if fl == nil && msg == "" {
		fl = invalid("message", "is required")
	}
	mt, fl2 := f.checked("messageType", validate.MessageType, lim, codeInvalid)
	attrs, fl3 := f.attributes(lim)
	id, fl4 := f.checked("clientMessageId", validate.ClientMessageID, lim, codeInvalid)
	if fl3 == nil {
		if e := richmsg.Check("message", msg, attrs); e != nil {
			fl3 = invalid(e.Field, e.Reason)
		}
	}
	if fl = first(fl, fl2, fl3, fl4); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	// The texts are kept in the transcript; form values own their bytes
	// (decodeForm), so the request body is not pinned in memory with them.
	rc, err := rq.sess.Send(rq.me.UserID, chat.Msg{Text: msg, Type: mt, Attrs: attrs, ClientMsgID: id})
	if err != nil {
		a.changeFailed(rq, err, "message", start)
		return
	}
	a.changed(rq, rc, start)
}

func opRefresh(a *API, rq *request) {
	f := rq.form
	start, fl := startFor(f, 0)
	_, fl2 := f.checked("message", validate.NoticeText, rq.lim, codeTooLong) // the typing preview; see docs
	wait, fl3 := waitFor(f, a.maxWait)
	if fl = first(fl, fl2, fl3); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	if a.refreshed != nil {
		a.refreshed(rq.sess.ID(), rq.me.UserID, start)
	}
	if wait <= 0 || start == readNone || start == readNewest || rq.me.Left {
		a.answer(rq, 0, start)
		return
	}
	a.longPoll(rq, start, wait)
}

// waitFor parses the waitSeconds extension: whole seconds ≥ 0, capped at max.
func waitFor(f *form, max time.Duration) (time.Duration, *failure) {
	v := strings.TrimSpace(f.get("waitSeconds"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, invalid("waitSeconds", "must be a whole number of seconds")
	}
	d := time.Duration(n) * time.Second
	if err != nil || d > max {
		d = max
	}
	return d, nil
}

// longPoll answers a refresh that asked to wait: at once if anything is
// there, otherwise when an event the customer may see arrives, when wait
// has passed (with no events), or when the server shuts down. While it
// waits the customer counts as active.
func (a *API) longPoll(rq *request, start int, wait time.Duration) {
	evbuf := a.getEvents()
	st := newStream(rq.sess, rq.me.UserID, start, a.maxBatch, false, *evbuf)
	ch := st.changed()
	bt, err := st.read()
	if err == nil && len(bt.events) == 0 && !bt.ended {
		release := a.presence.hold(rq.chatID)
		expired := make(chan struct{})
		t := a.clock.AfterFunc(wait, func() { close(expired) })
	wait:
		for {
			select {
			case <-ch:
			case <-expired:
				break wait
			case <-rq.r.Context().Done():
				break wait
			case <-a.done:
				break wait
			}
			ch = st.changed()
			if bt, err = st.read(); err != nil || len(bt.events) > 0 || bt.ended {
				break
			}
		}
		t.Stop()
		release()
	}
	b := &body{}
	if err == nil {
		a.fill(b, rq, bt)
	}
	a.send(rq.w, b)
	*evbuf = st.buffer()
	a.putEvents(evbuf)
}

func opStartTyping(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	preview, fl2 := rq.form.checked("message", validate.NoticeText, rq.lim, codeTooLong)
	if fl = first(fl, fl2); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	a.notify(rq, chat.Note{Type: chat.TypingStarted, Text: preview}, "message", start)
}

func opStopTyping(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	_, fl2 := rq.form.checked("message", validate.NoticeText, rq.lim, codeTooLong)
	if fl = first(fl, fl2); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	a.notify(rq, chat.Note{Type: chat.TypingStopped}, "message", start)
}

func opCustomNotice(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	text, fl2 := rq.form.checked("message", validate.NoticeText, rq.lim, codeTooLong)
	attrs, fl3 := rq.form.attributes(rq.lim)
	if fl = first(fl, fl2, fl3); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	a.notify(rq, chat.Note{Type: chat.CustomNotice, Text: text, Attrs: attrs}, "message", start)
}

// opPushURL sends a URL to the agent. The field is pushUrl; url and message
// are accepted too, since the reference never confirmed the name.
func opPushURL(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	if fl != nil {
		a.fail(rq.w, fl)
		return
	}
	name := "pushUrl"
	for _, n := range []string{"pushUrl", "url", "message"} {
		if v, ok := rq.form.lookup(n); ok && v != "" {
			name = n
			break
		}
	}
	u, fl := rq.form.checked(name, validate.PushURL, rq.lim, codeTooLong)
	if fl == nil && strings.TrimSpace(u) == "" {
		fl = invalid("pushUrl", "is required")
	}
	if fl != nil {
		a.fail(rq.w, fl)
		return
	}
	a.notify(rq, chat.Note{Type: chat.PushURL, Text: strings.TrimSpace(u)}, name, start)
}

// notify appends a notice from the customer and answers.
func (a *API) notify(rq *request, n chat.Note, field string, start int) {
	n.Text = strings.Clone(n.Text) // kept in the transcript: do not pin the request body
	rc, err := rq.sess.Notify(rq.me.UserID, n)
	if err != nil {
		a.changeFailed(rq, err, field, start)
		return
	}
	a.changed(rq, rc, start)
}

// opDisconnect makes the customer leave (quit reason 0). If no agent or
// supervisor remains (bots and workflow parties do not count), the session
// closes; otherwise it stays open for the agents. A second disconnect is
// answered like the first.
func opDisconnect(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	if fl != nil {
		a.fail(rq.w, fl)
		return
	}
	a.presence.forget(rq.chatID)
	rc, err := leave(rq.sess, rq.me.UserID, chat.LeftNormally)
	rq.me.Left = true
	switch {
	case errors.Is(err, chat.ErrClosed), errors.Is(err, chat.ErrNotParticipant):
		a.answer(rq, 0, start)
	case err != nil:
		a.changeFailed(rq, err, "", start)
	default:
		a.changed(rq, rc, start)
	}
}

// leave removes the customer with the reason, then closes the session if
// no agent or supervisor is left in it: a chat whose customer is gone is
// over unless an agent is there to wrap it up. The receipt covers both.
func leave(s *chat.Session, userID string, reason chat.LeaveReason) (chat.Receipt, error) {
	rc, closed, err := s.Leave(chat.LeaveRequest{UserID: userID, Reason: reason})
	if err != nil || closed {
		return rc, err
	}
	if crc, closed, err := s.Close(chat.CloseRequest{Reason: chat.RemovedByParty, AskerID: userID, IfNoAgents: true}); err == nil && closed {
		return crc, nil
	}
	return rc, nil
}

func opUpdateData(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	ud, fl2 := rq.form.checkedUserData(rq.lim)
	if fl = first(fl, fl2); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	a.dropOwned(ud, rq.chatID)
	if len(ud) > 0 {
		if err := rq.sess.UpdateUserData(rq.me.UserID, ud); err != nil {
			a.changeFailed(rq, err, "userData", start)
			return
		}
	}
	a.answer(rq, 0, start)
}

func opUpdateNickname(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	nick, fl2 := rq.form.checked("nickname", validate.Nickname, rq.lim, codeNickname)
	nick = strings.TrimSpace(nick)
	if fl2 == nil && nick == "" {
		fl2 = badField(codeNickname, "nickname", "is required")
	}
	if fl = first(fl, fl2); fl != nil {
		a.fail(rq.w, fl)
		return
	}
	rc, err := rq.sess.ChangeNickname(rq.me.UserID, strings.Clone(nick))
	if err != nil {
		a.changeFailed(rq, err, "nickname", start)
		return
	}
	a.changed(rq, rc, start)
}

// opReadReceipt records that the customer has read the transcript up to
// and including index transcriptPosition (all of it when the field is
// absent, 0 or -1; an index beyond the end means the end). The agent side
// sees it as the engine's read confirmation; it replaces the customer's
// previous one.
func opReadReceipt(a *API, rq *request) {
	pos, ok, fl := rq.form.position("transcriptPosition")
	if fl != nil {
		a.fail(rq.w, fl)
		return
	}
	_, length, _, err := rq.sess.Read(rq.me.UserID, maxPosition, nil)
	if err != nil {
		a.changeFailed(rq, err, "", readNone)
		return
	}
	last := length // the id of the last event
	if ok && pos >= 1 && pos < last {
		last = pos
	}
	rc, err := rq.sess.Notify(rq.me.UserID, chat.Note{
		Type: chat.SysCommand, Text: chat.ReadConfirm,
		UserData: kv.Map{chat.LastEventIDKey: strconv.Itoa(last)},
	})
	if err != nil {
		a.changeFailed(rq, err, "transcriptPosition", readNone)
		return
	}
	a.changed(rq, rc, readNone)
}

// handleRequestChat starts a chat: POST /genesys/2/chat/{serviceName}.
func (a *API) handleRequestChat(w http.ResponseWriter, r *http.Request) {
	cfg := a.config()
	if !a.allowCreate(w, r, cfg) { // before any decoding: a flood's refusal is cheap
		return
	}
	lim := limitsFor(cfg)
	f, fl := decodeForm(r, lim.body)
	if fl != nil {
		a.fail(w, fl)
		return
	}
	a.requestChat(w, r, r.PathValue("service"), cfg, lim, f)
}

// requestChat starts a chat from a decoded request chat form; every
// transport's request chat passes here.
func (a *API) requestChat(w http.ResponseWriter, r *http.Request, service string, cfg *config.Config, lim limits, f *form) {
	cr, fl := parseChatRequest(f, lim)
	if fl != nil {
		a.fail(w, fl)
		return
	}
	a.dropOwned(cr.UserData, "")
	if a.stopping() {
		a.send(w, &body{status: 1, errs: []apiError{{codeUnavailable, "the server is shutting down; try again"}}})
		return
	}
	if !cfg.Serves(service) {
		// Only configured services are served; the answer is the one a
		// service without a usable endpoint gets (docs/customer-api.md).
		a.log.Debug("chat refused: service not configured", "service", clip(service))
		a.send(w, &body{status: 2, errs: []apiError{{codeCannotStart, fmt.Sprintf("chat service %q is not served here", clip(service))}}})
		return
	}
	ref := cfg.ServiceEndpoint(service)
	tenant, endpoint, queue, err := cfg.ResolveEndpoint(ref)
	if err != nil {
		a.log.Warn("chat refused: the service's endpoint does not resolve", "service", service, "endpoint", ref, "err", err)
		a.send(w, &body{status: 2, errs: []apiError{{codeCannotStart, fmt.Sprintf("chat service %q has no usable endpoint", clip(service))}}})
		return
	}
	cr.Tenant, cr.Endpoint, cr.Queue, cr.Service = tenant, endpoint, queue, strings.Clone(service)
	key := chat.NewSecret(secureKeyLen)
	cr.Creator.Secret = key
	s, me, rc, err := a.engine.Create(cr)
	switch {
	case errors.Is(err, chat.ErrLimit):
		a.send(w, &body{status: 1, errs: []apiError{{codeUnavailable, "too many chats at the moment; try again later"}}})
		return
	case err != nil:
		a.log.Error("create chat", "service", service, "err", err)
		a.send(w, &body{status: 1, errs: []apiError{{codeUnexpected, "unexpected service error; try again"}}})
		return
	}
	a.presence.start(s.ID(), me.UserID)
	a.keys.add(key, s.ID(), me.UserID)
	rq := &request{w: w, r: r, cfg: cfg, lim: lim, form: f, chatID: s.ID(), sess: s, me: me}
	a.changed(rq, rc, 0)
}

// parseChatRequest validates request chat's fields and builds the engine
// request (without endpoint and secret).
func parseChatRequest(f *form, lim limits) (chat.CreateRequest, *failure) {
	nick, fl := f.checked("nickname", validate.Nickname, lim, codeNickname)
	firstName, fl2 := f.checked("firstName", validate.FirstName, lim, codeFirstName)
	lastName, fl3 := f.checked("lastName", validate.LastName, lim, codeLastName)
	subject, fl4 := f.checked("subject", validate.Subject, lim, codeTooLong)
	greeting, fl5 := f.checked("text", validate.MessageText, lim, codeTooLong)
	email, fl6 := f.email(lim)
	ud, fl7 := f.checkedUserData(lim)
	if fl := first(fl, fl2, fl3, fl4, fl5, fl6, fl7); fl != nil {
		return chat.CreateRequest{}, fl
	}
	nick, firstName, lastName = strings.TrimSpace(nick), strings.TrimSpace(firstName), strings.TrimSpace(lastName)
	if nick == "" {
		switch {
		case firstName == "" && lastName == "":
			return chat.CreateRequest{}, badField(codeNickname, "nickname", "is required (or both firstName and lastName)")
		case firstName == "":
			return chat.CreateRequest{}, badField(codeFirstName, "firstName", "is required with lastName when there is no nickname")
		case lastName == "":
			return chat.CreateRequest{}, badField(codeLastName, "lastName", "is required with firstName when there is no nickname")
		}
		nick = firstName + " " + lastName
	}
	data := ud.CloneRoom(4) // room for the four keys below
	// The gateway attaches the customer's name, address and subject to the
	// interaction under these keys; the request's fields win over userData.
	for _, kvp := range [...][2]string{{"FirstName", firstName}, {"LastName", lastName}, {"EmailAddress", email}, {"Subject", subject}} {
		if kvp[1] != "" {
			data[kvp[0]] = kvp[1]
		}
	}
	return chat.CreateRequest{
		Subject:  subject,
		Async:    strings.EqualFold(strings.TrimSpace(data.String("GCTI_Chat_AsyncMode")), "true"),
		UserData: data,
		Creator:  chat.JoinRequest{Nick: nick, Type: chat.Client, Protocol: chat.Flex, Text: greeting},
	}, nil
}

// first returns the first non-nil failure.
func first(fls ...*failure) *failure {
	for _, fl := range fls {
		if fl != nil {
			return fl
		}
	}
	return nil
}
