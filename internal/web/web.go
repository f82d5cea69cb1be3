package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Locations say where the node's APIs listen, as host:port; an empty
// field means the listener of the page itself.
type Locations struct {
	Agent  string `json:"agent"`  // agent WebSocket and admin API
	Health string `json:"health"` // /Counters
}

// Options configure a Handler.
type Options struct {
	// Service is the chat service the demo page's widget uses.
	Service string
	// Locate returns where the APIs listen; called per request (the
	// addresses are known only once the listeners are open). Nil means
	// every API is on the page's own listener.
	Locate func() Locations
	// SignIns, when set, redeems the first run's one-time sign-in links
	// at /desk/signin/{code}.
	SignIns *SignIns
}

// Handler serves the pages.
type Handler struct {
	opts  Options
	files http.Handler
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Service == "" {
		opts.Service = "customer-support"
	}
	sub, err := fs.Sub(static, "static")
	if err != nil { // the embedded tree always has the directory
		panic(err)
	}
	return &Handler{opts: opts, files: http.FileServerFS(sub)}
}

// Register mounts the pages on mux:
//
//	GET /                   the node's start page
//	GET /widget/            the demo shop page with the widget
//	GET /widget/widget.js   the embeddable widget (any origin may load it)
//	GET /desk/              the agent desktop and supervisor console
//	GET /desk/config.json   where the agent socket and admin API listen
//	GET /desk/signin/{code} a first-run one-time sign-in link (with Options.SignIns)
//	GET /desk/signin-failed the page a used or unknown link leads to
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.serveFile)
	mux.HandleFunc("GET /widget/", h.serveFile)
	mux.HandleFunc("GET /desk/", h.serveFile)
	mux.HandleFunc("GET /static.css", h.serveFile)
	mux.HandleFunc("GET /index.js", h.serveFile)
	mux.HandleFunc("GET /desk/config.json", h.serveConfig)
	if h.opts.SignIns != nil {
		mux.Handle("GET /desk/signin/{code}", h.opts.SignIns)
		mux.HandleFunc("GET "+signInFailedPath, serveSignInFailed)
	}
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(r.URL.Path, "/widget/") && strings.HasSuffix(r.URL.Path, ".js") {
		// The widget is embedded on other sites' pages.
		hdr.Set("Access-Control-Allow-Origin", "*")
		hdr.Set("Cross-Origin-Resource-Policy", "cross-origin")
	} else {
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	}
	hdr.Set("Cache-Control", "no-cache")
	h.files.ServeHTTP(w, r)
}

func (h *Handler) serveConfig(w http.ResponseWriter, r *http.Request) {
	var loc Locations
	if h.opts.Locate != nil {
		loc = h.opts.Locate()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		Locations
		Service string `json:"service"`
	}{loc, h.opts.Service})
}
