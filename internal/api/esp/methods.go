package esp

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	wire "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/richmsg"
	"github.com/confab/confab/internal/validate"
)

// post holds what Message and Notice share: who writes, seen by whom, with
// which attributes.
type post struct {
	nick  string
	vis   chat.Visibility
	attrs kv.Map
}

func (h *Handler) postParams(p params) (post, *fault) {
	lim := h.limits()
	nick, f := p.text("Nickname", validate.Nickname, lim)
	if f != nil {
		return post{}, f
	}
	out := post{nick: nick}
	if out.nick == "" {
		out.nick = h.opts.DefaultNickname
	}
	vis, err := chat.ParseVisibility(p["Visibility"])
	if err != nil {
		return post{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "Visibility", "Visibility must be ALL, INT or VIP, not %q", p["Visibility"])
	}
	out.vis = vis
	attrs, f := p.kvChecked("EventAttributes", validate.EventAttributes, lim)
	if f != nil {
		return post{}, f
	}
	out.attrs = attrs
	return out, nil
}

// party returns the workflow party writing under the post's nickname.
func (h *Handler) party(s *chat.Session, ps post) (chat.Participant, []chat.Receipt, *fault) {
	p, joined, rc, err := s.ExternalParty(ps.nick, ps.vis)
	if err != nil {
		return chat.Participant{}, nil, actionFault(err, "Nickname")
	}
	if joined {
		return p, []chat.Receipt{rc}, nil
	}
	return p, nil, nil
}

func (h *Handler) message(ctx context.Context, s *chat.Session, p params) (wire.Reply, *fault) {
	lim := h.limits()
	text, f := p.text("MessageText", validate.MessageText, lim)
	if f != nil {
		return wire.Reply{}, f
	}
	if text == "" {
		return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultMissingParameter, "MessageText", "parameter MessageText is required")
	}
	if _, f := p.text("MessageType", validate.MessageType, lim); f != nil {
		return wire.Reply{}, f
	}
	if attrs, f := p.kvParam("EventAttributes"); f == nil {
		if e := richmsg.Check("MessageText", text, attrs); e != nil {
			return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "EventAttributes", "%s: %s", e.Field, e.Reason)
		}
	}
	return h.post(ctx, s, p, "MessageText", func(from string, ps post) (chat.Receipt, error) {
		return s.Send(from, chat.Msg{Text: text, Type: p["MessageType"], Visibility: ps.vis, Attrs: ps.attrs})
	})
}

func (h *Handler) notice(ctx context.Context, s *chat.Session, p params) (wire.Reply, *fault) {
	var nt chat.NoticeType
	switch p["NoticeType"] {
	case "":
		return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultMissingParameter, "NoticeType", "parameter NoticeType is required")
	case "USER_PUSHED_URL":
		nt = chat.PushURL
		if strings.TrimSpace(p["NoticeText"]) == "" {
			return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultMissingParameter, "NoticeText", "NoticeText: %s", validate.ReasonURL)
		}
		if _, f := p.text("NoticeText", validate.PushURL, h.limits()); f != nil {
			return wire.Reply{}, f
		}
	case "USER_CUSTOM":
		nt = chat.CustomNotice
		if _, f := p.text("NoticeText", validate.NoticeText, h.limits()); f != nil {
			return wire.Reply{}, f
		}
	default:
		return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "NoticeType", "NoticeType must be USER_PUSHED_URL or USER_CUSTOM, not %q", p["NoticeType"])
	}
	return h.post(ctx, s, p, "NoticeText", func(from string, ps post) (chat.Receipt, error) {
		return s.Notify(from, chat.Note{Type: nt, Text: p["NoticeText"], Visibility: ps.vis, Attrs: ps.attrs})
	})
}

// post writes a message or notice as the workflow party named by the
// request: it decodes the common parameters, joins the party on its first
// use, calls write, and answers once everything is durable. field names the
// parameter blamed when the engine refuses the write.
func (h *Handler) post(ctx context.Context, s *chat.Session, p params, field string, write func(from string, ps post) (chat.Receipt, error)) (wire.Reply, *fault) {
	ps, f := h.postParams(p)
	if f != nil {
		return wire.Reply{}, f
	}
	from, rcs, f := h.party(s, ps)
	if f != nil {
		return wire.Reply{}, f
	}
	rc, err := write(from.UserID, ps)
	if err != nil {
		return wire.Reply{}, actionFault(err, field)
	}
	if f := h.durable(rcs, rc); f != nil {
		return wire.Reply{}, f
	}
	pos := rc.Pos
	return wire.Reply{OccuredAt: h.stamp(rc.Time), ScriptPos: &pos}, nil
}

func (h *Handler) placeOnHold(_ context.Context, s *chat.Session, _ params) (wire.Reply, *fault) {
	if err := h.opts.Router.PlaceOnHold(s.ID()); err != nil {
		return wire.Reply{}, actionFault(err, "")
	}
	return wire.Reply{OccuredAt: h.stamp(h.clock.Now())}, nil
}

func (h *Handler) closeSession(ctx context.Context, s *chat.Session, p params) (wire.Reply, *fault) {
	closed := 1
	if p.boolean("Purge") {
		if err := h.opts.Engine.Purge(s.ID()); err != nil {
			return wire.Reply{}, actionFault(err, "")
		}
		h.opts.Router.Forget(s.ID())
		return wire.Reply{OccuredAt: h.stamp(h.clock.Now()), IsClosed: &closed}, nil
	}
	rc, ok, err := s.Close(chat.CloseRequest{Reason: chat.RemovedByServer, IfNoAgents: p.boolean("CloseIfNoAgents")})
	if err != nil {
		return wire.Reply{}, actionFault(err, "")
	}
	if !ok {
		closed = 0
	} else if f := h.durable(nil, rc); f != nil {
		return wire.Reply{}, f
	}
	return wire.Reply{OccuredAt: h.stamp(h.clock.Now()), IsClosed: &closed}, nil
}

func (h *Handler) sessionInfo(_ context.Context, s *chat.Session, _ params) (wire.Reply, *fault) {
	// InduceRestore has done its work before the request gets here: the
	// cluster's middleware restored the session (session-restore-extend-by).
	info := s.Info()
	restored := 0
	if info.Restored {
		restored = 1
	}
	return wire.Reply{OccuredAt: h.stamp(h.clock.Now()), SessionInfo: &wire.SessionInfo{CreatedAt: h.stamp(info.CreatedAt), IsRestored: restored}}, nil
}

// Parameters of IdleControlConfigure, as the reference names them.
var idleParams = []string{
	"reset-parameters", "enabled", "include-notices", "message-alert", "message-alert2",
	"message-close", "timeout-alert", "timeout-alert2", "timeout-close",
}

func (h *Handler) idleControl(_ context.Context, s *chat.Session, p params) (wire.Reply, *fault) {
	var upd chat.IdleOverride
	given := false
	for _, k := range idleParams {
		if _, ok := p[k]; ok {
			given = true
		}
	}
	if !given {
		return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultMissingParameter, "", "at least one of %s is required", strings.Join(idleParams, ", "))
	}
	if v, ok := p["enabled"]; ok {
		b := v == "true"
		upd.Enabled = &b
	}
	if v, ok := p["include-notices"]; ok {
		ns := config.NoticeSet(v)
		switch ns {
		case config.NoticesNone, config.NoticesMajor, config.NoticesMajor2, config.NoticesTyping, config.NoticesAll:
		default:
			return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "include-notices", "include-notices must be none, major, major2, typing or all, not %q", v)
		}
		upd.IncludeNotices = &ns
	}
	for k, dst := range map[string]**string{"message-alert": &upd.MessageAlert, "message-alert2": &upd.MessageAlert2, "message-close": &upd.MessageClose} {
		if v, ok := p[k]; ok {
			*dst = &v
		}
	}
	timeouts := []struct {
		name string
		min  int
		dst  **time.Duration
	}{{"timeout-alert", 1, &upd.TimeoutAlert}, {"timeout-alert2", 0, &upd.TimeoutAlert2}, {"timeout-close", 1, &upd.TimeoutClose}}
	for _, t := range timeouts {
		v, ok := p[t.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < t.min || n > 86400 {
			return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, t.name, "%s must be whole seconds from %d to 86400, not %q", t.name, t.min, v)
		}
		d := time.Duration(n) * time.Second
		*t.dst = &d
	}
	// The session's values change and its inactivity timers restart.
	if err := s.ConfigureIdle(upd, p.boolean("reset-parameters")); err != nil {
		return wire.Reply{}, actionFault(err, "")
	}
	return wire.Reply{OccuredAt: h.stamp(h.clock.Now())}, nil
}

// languageCode is language[-_]country, e.g. en-US, fr_CA or de.
var languageCode = regexp.MustCompile(`^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?$`)

func (h *Handler) configure(_ context.Context, s *chat.Session, p params) (wire.Reply, *fault) {
	name, hasName := p["GCTI_LanguageName"]
	code, hasCode := p["GCTI_LanguageCode"]
	reset, hasReset := p["async-idle-reset"]
	if !hasName && !hasCode && !hasReset {
		return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultMissingParameter, "", "at least one of async-idle-reset, GCTI_LanguageCode, GCTI_LanguageName is required")
	}
	// The language name wins over the code, as when a session is created
	// (the guide's "How Chat Server Associates Sessions with Languages").
	switch {
	case hasName:
		if strings.TrimSpace(name) == "" {
			return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "GCTI_LanguageName", "GCTI_LanguageName is empty")
		}
		code = ""
	case hasCode:
		if !languageCode.MatchString(strings.TrimSpace(code)) {
			return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "GCTI_LanguageCode", "GCTI_LanguageCode must be language-country, e.g. en-US, not %q", code)
		}
	}
	if hasName || hasCode {
		// An unknown language selects the configured defaults; the engine
		// warns naming the session and the language.
		if _, err := s.SelectLanguage(name, code); err != nil {
			return wire.Reply{}, actionFault(err, "")
		}
	}
	if reset == "1" || reset == "true" {
		if err := s.ResetAsyncIdle(); err != nil {
			return wire.Reply{}, actionFault(err, "")
		}
	}
	return wire.Reply{OccuredAt: h.stamp(h.clock.Now())}, nil
}
