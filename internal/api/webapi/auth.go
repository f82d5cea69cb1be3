package webapi

import (
	"crypto/subtle"
	"net/http"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
)

// request is one authenticated (or being authenticated) customer call.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	cfg  *config.Config
	lim  limits
	form *form
	// decoded backs form for the requests whose body the session
	// handler decodes (one allocation less per request).
	decoded form
	chatID  string
	// service is the service name the request came under ("" when its
	// transport names none, as chat-ntf file operations).
	service string
	sess    *chat.Session
	me      chat.Participant // the customer, as of authentication
}

// authenticate checks the session fields: the chat must exist (alive or in
// its grace period) and have been created under the path's service name,
// userId must be a customer of it, secureKey must be that
// customer's key and alias must be this node's. It fills rq.sess and rq.me.
// Any mismatch is the same false: the caller answers with unauthorized,
// which says nothing about which part was wrong.
func (a *API) authenticate(rq *request) bool {
	userID := rq.form.get("userId")
	key := rq.form.get("secureKey")
	alias := rq.form.get("alias")
	want := a.decoy
	ok := false
	if s, err := a.engine.Get(rq.chatID); err == nil && userID != "" {
		// A chat's keys work only under the service it was created with (a
		// session restored without its service name accepts any, and so
		// does a transport that names no service).
		sameService := s.Service() == "" || rq.service == "" || s.Service() == rq.service
		if p, err := s.Participant(userID); err == nil && sameService && p.Type == chat.Client && p.Protocol == chat.Flex && p.Secret != "" {
			rq.sess, rq.me = s, p
			want = []byte(p.Secret)
			ok = true
		}
	}
	same := subtle.ConstantTimeCompare(want, []byte(key)) == 1
	if !ok || !same || alias != a.alias {
		rq.sess, rq.me = nil, chat.Participant{}
		return false
	}
	return true
}

// unauthorized answers a request whose credentials do not match a chat:
// HTTP 200, statusCode 2, chatEnded true, error 401. The same answer serves
// a wrong key, an unknown or purged chat and a wrong alias, and it carries no
// identifiers, so a client neither learns which nor overwrites its own.
func (a *API) unauthorized(w http.ResponseWriter) {
	if a.authFailed != nil {
		a.authFailed()
	}
	buf := a.getBuf()
	*buf = appendBody(*buf, unauthorizedBody())
	writeJSON(w, http.StatusOK, *buf)
	a.putBuf(buf)
}

func unauthorizedBody() *body {
	return &body{status: 2, ended: true, errs: []apiError{{codeUnauthorized, "the chat session could not be authorised: no chat matches chatId, userId, secureKey and alias"}}}
}
