package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/datadir"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/logattr"
	"github.com/confab/confab/internal/masking"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// handler is a protocol adapter: it mounts its routes on the mux of the
// listener its port id names.
type handler interface {
	Register(mux *http.ServeMux)
}

type mounted struct {
	portID     string
	h          handler
	onShutdown func(context.Context)
}

// parts are the pieces a node is assembled from, in start-up order: the
// store, the journals the engine writes through, and the adapters.
type parts struct {
	store    store.Store
	history  *history.Journal
	journals chat.Journals
	adapters []mounted
	stops    []func() // run at shutdown after the adapters' hooks
	// adminToken returns the live admin token, once buildAgent has set it.
	adminToken func() string
	lines      []string                                 // operator output: URLs, generated tokens
	linesAt    []func(addrs map[string]string) []string // operator lines that name bound addresses
	lock       *datadir.Lock
	router     *routing.Router       // set by buildAgent; restoration and closing use it
	agents     *agent.Handler        // set by buildAgent; wire_haagent.go gives it the cluster
	saveLive   func(context.Context) // set by wire_restore.go; runs at shutdown before the journal drains
	ha         haHooks               // set by wire_cluster.go when the node is in a cluster
	customer   *webapi.API           // the customer Chat API, for the transports built on it
	// ownedDropped are the adapters' counts of server-owned user-data keys
	// they dropped (wire_protection.go).
	ownedDropped []func() int64
	files        *fileParts // file transfer and push, see wire_files.go
	// logFilter is the one filter for chat content in logs (logattr);
	// adapters that log message texts or user data use it.
	logFilter *logattr.Filter
	masking   *masking.Manager           // wire_pii.go
	reloaders []func(cfg *config.Config) // run on every configuration change

	hookMu  sync.Mutex
	hookCtx context.Context // the shutdown hooks' context, once beginShutdown has set it
}

// onReload registers f to run with every new configuration.
func (p *parts) onReload(f func(cfg *config.Config)) { p.reloaders = append(p.reloaders, f) }

// reload runs the reload hooks.
func (p *parts) reload(cfg *config.Config) {
	for _, f := range p.reloaders {
		f(cfg)
	}
}

// add mounts an adapter on the listener of portID; onShutdown (may be nil)
// runs when the node shuts down, before the store closes.
func (p *parts) add(portID string, h handler, onShutdown func(context.Context)) {
	if onShutdown != nil {
		// Every listener's http.Server and the final close call the hook;
		// it runs once.
		var once sync.Once
		f := onShutdown
		onShutdown = func(ctx context.Context) { once.Do(func() { f(ctx) }) }
	}
	p.adapters = append(p.adapters, mounted{portID: portID, h: h, onShutdown: onShutdown})
}

// addJournal adds a journal the engine reports to, after the history.
func (p *parts) addJournal(j chat.Journal) { p.journals = append(p.journals, j) }

// addStop registers f to run when the node shuts down.
func (p *parts) addStop(f func()) { p.stops = append(p.stops, f) }

// sayAt queues lines for the operator that f writes once the listeners'
// bound addresses (by port id) are known.
func (p *parts) sayAt(f func(addrs map[string]string) []string) { p.linesAt = append(p.linesAt, f) }

// say queues a line for the operator, printed after the URLs at start.
func (p *parts) say(format string, args ...any) {
	p.lines = append(p.lines, fmt.Sprintf(format, args...))
}

func (s *Server) buildParts(ctx context.Context) (*parts, error) {
	lock, err := datadir.Acquire(s.dataDir) // one owner per data directory
	if err != nil {
		return nil, err
	}
	p := &parts{lock: lock}
	st, err := s.openStore(ctx, p)
	if err != nil {
		lock.Release()
		return nil, err
	}
	p.store = st
	p.logFilter = logattr.New(logPolicy(s.cfg.Load()))
	p.history = history.New(history.Options{
		Store:    st,
		AutoSave: func() int { return s.cfg.Load().Settings.TranscriptAutoSave },
		Attached: p.closedAttached,
		// [protection] contact-attributes.
		ContactAttributes: func() []string { return s.cfg.Load().Protection.ContactAttributeNames() },
		Epoch:             p.ha.epochOf,
		BeforeClose: func(ctx context.Context, id string) error {
			return p.ha.beforeClose(ctx, id)
		},
		Resend: s.resendPolicy, // wire_restore.go
		Clock:  s.clock,
		OnContact: func(id, contact string) { // routing writes its record updates without a read
			if p.router != nil {
				p.router.LearnContact(id, contact)
			}
		},
		OnClosed: func(id string) { // and its closed state too (routing.Options.HistoryTells)
			if p.router != nil {
				p.router.RecordClosed(id)
			}
		},
		Log: s.log,
	})
	p.journals = chat.Journals{p.history}
	// The engine reports to p.journals, which the adapters may extend while
	// they are built, before any session exists.
	s.engine = chat.New(chat.Options{Clock: s.clock, Settings: engineSettings(s.cfg.Load()), Journal: &p.journals,
		OnWriteError: s.writeFailed, Admit: s.admit, Statistics: s.statistics, Interim: s.interim})
	for _, build := range s.adapterBuilders() {
		if err := build(p); err != nil {
			p.close(ctx)
			return nil, err
		}
	}
	return p, nil
}

// mount registers every adapter of portID on mux.
func (p *parts) mount(portID string, mux *http.ServeMux) {
	for _, a := range p.adapters {
		if a.portID == portID {
			a.h.Register(mux)
		}
	}
}

// onShutdown has the adapters told when srv shuts down (WebSocket adapters
// close their connections then), with the shutdown's hook context.
func (p *parts) onShutdown(srv *http.Server) {
	for _, a := range p.adapters {
		if a.onShutdown != nil {
			f := a.onShutdown
			srv.RegisterOnShutdown(func() { f(p.hookContext(context.Background())) })
		}
	}
}

// closeReserve is the share of a shutdown's time kept from the adapters'
// hooks for what runs after them (saving the live sessions, draining the
// journal, closing the store): at most 3 s, a third of what is left when
// that is less. A hook that cannot finish (a routing flush waiting on a
// record) so gives up before the store has to.
func closeReserve(left time.Duration) time.Duration { return min(3*time.Second, left/3) }

// beginShutdown sets the context the adapters' shutdown hooks run with,
// whichever of the listeners' shutdowns or close calls them first: ctx,
// ending closeReserve before it. The caller cancels it once close is done.
func (p *parts) beginShutdown(ctx context.Context) context.CancelFunc {
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		hctx, cancel = context.WithDeadline(ctx, dl.Add(-closeReserve(time.Until(dl))))
	}
	p.hookMu.Lock()
	p.hookCtx = hctx
	p.hookMu.Unlock()
	return cancel
}

// hookContext is the shutdown hooks' context: beginShutdown's, or
// fallback before it has run.
func (p *parts) hookContext(fallback context.Context) context.Context {
	p.hookMu.Lock()
	defer p.hookMu.Unlock()
	if p.hookCtx == nil {
		return fallback
	}
	return p.hookCtx
}

// portTitles say what each listener serves, for the start-up lines.
var portTitles = map[string]string{
	config.PortWebAPI: "customer Chat API v2",
	config.PortAgent:  "agent protocol, admin, history",
	config.PortESP:    "workflow (ESP) API",
	config.PortHealth: "health, /Counters and /metrics",
}

func (p *parts) urls(addrs map[string]string) []string {
	ids := make([]string, 0, len(addrs))
	for id := range addrs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("%-7s %-30s http://%s", id, portTitles[id], addrs[id]))
	}
	for _, f := range p.linesAt {
		out = append(out, f(addrs)...)
	}
	return append(out, p.lines...)
}

func (p *parts) storeReady() bool { return p.store != nil }

// close runs the adapters' shutdown hooks, drains the journal and closes the
// store.
func (p *parts) close(ctx context.Context) error {
	var errs []error
	hctx := p.hookContext(ctx)
	for _, a := range p.adapters {
		if a.onShutdown != nil {
			a.onShutdown(hctx)
		}
	}
	if p.saveLive != nil {
		p.saveLive(ctx)
	}
	p.ha.stop(ctx)
	for _, f := range p.stops {
		f()
	}
	p.stops = nil
	if p.history != nil {
		if err := p.history.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if p.store != nil {
		if err := p.store.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		p.store = nil
	}
	if p.lock != nil {
		p.lock.Release()
		p.lock = nil
	}
	return errors.Join(errs...)
}
