package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/store"
)

// AccountStore is what the first run and its sign-in links need of the
// store: the agent accounts and the settings table, where each link's
// code is kept (as a hash) until it is used.
type AccountStore interface {
	store.Agents
	store.Settings
}

// signInKey is the settings key of a sign-in code: the prefix and the
// code's SHA-256 in hex (the code itself is stored nowhere). Its value is
// the account's id until the link is used, then usedMark.
func signInKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return "web.first-run-sign-in." + hex.EncodeToString(sum[:])
}

const usedMark = "\x00used"

// Errors of Redeem.
var (
	ErrSignInUnknown = errors.New("no such sign-in link")
	ErrSignInUsed    = errors.New("this sign-in link has already been used")
)

// newSecret returns 24 random bytes in URL-safe base64.
func newSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// SignIns redeems the first run's one-time sign-in links: a link's code
// works once; it gives the account a new token (the one the first run
// stored was never shown) and the desk receives that token.
type SignIns struct {
	st AccountStore
	mu sync.Mutex // serialises redemptions, so two uses of one link cannot both win
}

// NewSignIns returns the redeemer of the links kept in st.
func NewSignIns(st AccountStore) *SignIns { return &SignIns{st: st} }

// Redeem uses the code once: it returns a new access token of the code's
// account, ErrSignInUsed for a code already used and ErrSignInUnknown for
// any other code. The code is marked used before the token is changed, so
// a failure between the two never leaves the link usable a second time.
func (s *SignIns) Redeem(ctx context.Context, code string) (store.Agent, string, error) {
	if code == "" || len(code) > 64 {
		return store.Agent{}, "", ErrSignInUnknown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := signInKey(code)
	id, err := s.st.GetSetting(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Agent{}, "", ErrSignInUnknown
	case err != nil:
		return store.Agent{}, "", fmt.Errorf("sign-in link: %w", err)
	case id == usedMark:
		return store.Agent{}, "", ErrSignInUsed
	}
	a, err := s.st.GetAgent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, "", ErrSignInUnknown // the account was removed since
	} else if err != nil {
		return store.Agent{}, "", fmt.Errorf("sign-in link: %w", err)
	}
	if err := s.st.PutSetting(ctx, key, usedMark); err != nil {
		return store.Agent{}, "", fmt.Errorf("sign-in link: mark used: %w", err)
	}
	token := newSecret()
	a.TokenHash = agent.HashToken(token)
	if err := s.st.UpdateAgent(ctx, a); err != nil {
		return store.Agent{}, "", fmt.Errorf("sign-in link: new token of %s: %w", a.ID, err)
	}
	return a, token, nil
}

// ServeHTTP serves GET /desk/signin/{code}: the first use redirects to
// the desk with the new token in the fragment (which the browser never
// sends to a server; the desk keeps it for the tab only). A second use, or
// a code that was never issued, redirects to a page saying so (a redirect
// rather than an error status, which browsers log as a page error).
func (s *SignIns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	signInHeaders(w)
	_, token, err := s.Redeem(r.Context(), r.PathValue("code"))
	switch {
	case err == nil:
		http.Redirect(w, r, "/desk/#token="+token, http.StatusSeeOther)
	case errors.Is(err, ErrSignInUsed):
		http.Redirect(w, r, signInFailedPath+"?why=used", http.StatusSeeOther)
	case errors.Is(err, ErrSignInUnknown):
		http.Redirect(w, r, signInFailedPath+"?why=unknown", http.StatusSeeOther)
	default:
		signInPage(w, http.StatusServiceUnavailable, "Sign-in failed", "The server could not complete the sign-in; try again in a moment.")
	}
}

// signInFailedPath is the page a link that does not work leads to.
const signInFailedPath = "/desk/signin-failed"

// serveFailed explains why a sign-in link did not work.
func serveSignInFailed(w http.ResponseWriter, r *http.Request) {
	signInHeaders(w)
	if r.URL.Query().Get("why") == "used" {
		signInPage(w, http.StatusOK, "This sign-in link has already been used",
			"A first-run sign-in link works once. If it was you who used it, the desk is signed in in that tab. "+
				"Otherwise give the account a new token with the admin API (PATCH /api/v1/agents/{id} with "+
				"{\"rotateToken\":true}) and sign in at /desk/ with it.")
		return
	}
	signInPage(w, http.StatusOK, "This sign-in link is not valid",
		"Check that the whole link was copied. Sign in at /desk/ with an agent token instead.")
}

func signInHeaders(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
}

func signInPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static.css"><title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</title></head><body><main class="page"><h1 data-testid="signin-error">`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</h1><p>`)
	b.WriteString(html.EscapeString(text))
	b.WriteString(`</p><p><a href="/desk/">Open the agent desk</a> · <a href="/">Start page</a></p></main></body></html>`)
	w.Write([]byte(b.String()))
}
