package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/loglevel"
)

// Options configure a Server.
type Options struct {
	// Config is the configuration to start with (config.Default() if nil).
	Config *config.Config
	// ConfigPath, when set, is watched: the file is re-read on Reload (SIGHUP)
	// and when it changes.
	ConfigPath string
	// DataDir holds the store; default ./confab-data.
	DataDir string
	// StoreDSN, when set, keeps the data in that PostgreSQL database
	// instead (overriding [store]); the data directory still holds the
	// node's lock and generated tokens.
	StoreDSN string
	// Listen, when set, is the one address every API listens on, overriding
	// [ports].
	Listen string
	Logger *slog.Logger
	Clock  clock.Clock
	// Out receives the lines meant for the operator (URLs, generated tokens);
	// default os.Stdout.
	Out io.Writer
	// DemoAccounts lets a first run on loopback listeners with no agent
	// account create a demo agent and supervisor (see wire_web.go).
	DemoAccounts bool
}

// Server is one Confab node.
type Server struct {
	log      *slog.Logger
	clock    clock.Clock
	out      io.Writer
	dataDir  string
	storeDSN string
	cfg      atomic.Pointer[config.Config]
	watcher  *config.Watcher
	// configPath is the file the configuration came from ("" for none);
	// level is the log level [log] verbose sets.
	configPath string
	level      slog.LevelVar

	engine *chat.Engine
	parts  *parts      // the store, journal and adapters (see parts.go)
	pinger *pushPinger // flex-push-timeout pings (see wire_timers.go)
	ops    ops         // counters, limits, statistics (see wire_ops.go)

	ready atomic.Bool

	demoAccounts bool // Options.DemoAccounts (see wire_web.go)

	mu        sync.Mutex              // guards the following
	listeners map[string]net.Listener // by configured address
	servers   []*http.Server
	addrs     map[string]string // port id → bound address
	stopWatch context.CancelFunc
}

// New opens the store and builds the node; it does not listen yet.
func New(ctx context.Context, opts Options) (*Server, error) {
	s := &Server{log: opts.Logger, clock: opts.Clock, out: opts.Out, dataDir: opts.DataDir, storeDSN: opts.StoreDSN}
	s.demoAccounts = opts.DemoAccounts
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s.log = slog.New(loglevel.Filter(s.log.Handler(), &s.level)) // [log] verbose
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.out == nil {
		s.out = os.Stdout
	}
	if s.dataDir == "" {
		s.dataDir = "confab-data"
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	if opts.Listen != "" {
		cfg = withPorts(cfg, opts.Listen)
	}
	for _, w := range cfg.Validate() {
		s.log.Warn(w.String())
	}
	s.cfg.Store(cfg)
	s.configPath = opts.ConfigPath
	s.initOps()
	if opts.ConfigPath != "" {
		listen := opts.Listen
		s.watcher = config.NewWatcher(opts.ConfigPath, cfg, s.log, 0, func(old, next *config.Config) {
			if listen != "" {
				next = withPorts(next, listen)
			}
			s.applyConfig(next)
		})
	}
	p, err := s.buildParts(ctx) // builds s.engine once the journals are known
	if err != nil {
		return nil, err
	}
	s.parts = p
	if err := s.restoreSessions(ctx, p); err != nil {
		p.close(ctx)
		return nil, err
	}
	return s, nil
}

// Config returns the active configuration.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// DataDir returns the directory holding the node's store.
func (s *Server) DataDir() string { return s.dataDir }

// Engine returns the node's chat engine.
func (s *Server) Engine() *chat.Engine { return s.engine }

// Reload re-reads the configuration file (the server calls it on SIGHUP). It
// is a no-op without a configuration file.
func (s *Server) Reload() error {
	if s.watcher == nil {
		s.parts.reload(s.cfg.Load()) // stored state such as masking rules
		return nil
	}
	err := s.watcher.Reload()
	s.parts.reload(s.cfg.Load())
	return err
}

func (s *Server) applyConfig(cfg *config.Config) {
	s.cfg.Store(cfg)
	s.engine.SetSettings(engineSettings(cfg))
	s.opsReloaded(cfg)
	s.parts.reload(cfg)
}

// engineSettings maps configuration options onto the engine's settings.
func engineSettings(cfg *config.Config) chat.Settings {
	limit := cfg.Settings.LimitForSessions
	if limit <= 0 || !cfg.Settings.LimitsControlEnabled {
		limit = math.MaxInt
	}
	return chat.Settings{
		PasswordEnforce: cfg.Settings.SessionPasswordEnforce,
		ClosedGrace:     cfg.Settings.ClosedSessionGrace,
		SessionLimit:    limit,
		Bounds:          sessionBounds(cfg.Protection),
	}
}

// withPorts returns a copy of cfg whose every port id listens on addr.
func withPorts(cfg *config.Config, addr string) *config.Config {
	c := *cfg
	c.Ports = map[string]string{}
	for _, id := range []string{config.PortWebAPI, config.PortAgent, config.PortESP, config.PortHealth} {
		c.Ports[id] = addr
	}
	return &c
}

// Start opens the listeners and serves until Shutdown. It prints the URLs it
// serves to the operator output.
func (s *Server) Start(ctx context.Context) error {
	cfg := s.cfg.Load()
	muxes := map[string]*http.ServeMux{} // by address
	ids := map[string][]string{}         // address → port ids
	for id, addr := range cfg.Ports {
		if muxes[addr] == nil {
			muxes[addr] = http.NewServeMux()
			s.mountHealth(muxes[addr])
		}
		ids[addr] = append(ids[addr], id)
	}
	for id, addr := range cfg.Ports {
		s.parts.mount(id, muxes[addr])
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = map[string]net.Listener{}
	s.addrs = map[string]string{}
	addrList := make([]string, 0, len(muxes))
	for addr := range muxes {
		addrList = append(addrList, addr)
	}
	sort.Strings(addrList)
	for _, addr := range addrList {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range s.listeners {
				l.Close()
			}
			return fmt.Errorf("listen on %s (ports %s): %w", addr, strings.Join(ids[addr], ", "), err)
		}
		s.listeners[addr] = ln
		for _, id := range ids[addr] {
			s.addrs[id] = ln.Addr().String()
		}
		prot := cfg.Protection // [protection] transport timeouts
		srv := &http.Server{
			Handler:           withDeadlines(s.instrument(s.parts.ha.wrapCluster(s, muxes[addr])), prot, time.Now),
			ReadHeaderTimeout: prot.HeaderTimeout,
			IdleTimeout:       prot.IdleTimeout,
			MaxHeaderBytes:    prot.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		s.parts.onShutdown(srv)
		s.servers = append(s.servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("serve", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	if s.watcher != nil {
		wctx, cancel := context.WithCancel(context.Background())
		s.stopWatch = cancel
		go s.watcher.Run(wctx)
	}
	if err := s.parts.ha.started(ctx, s.addrs); err != nil {
		return err
	}
	s.ready.Store(true)
	s.printURLs()
	return nil
}

// Addr returns the bound address of a port id ("webapi", "agent", "esp",
// "health") once Start has run.
func (s *Server) Addr(portID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[portID]
}

func (s *Server) printURLs() {
	for _, line := range s.parts.urls(s.addrs) {
		fmt.Fprintln(s.out, line)
	}
	h := s.addrs[config.PortHealth]
	fmt.Fprintf(s.out, "liveness and readiness: http://%s/healthz http://%s/readyz\n", h, h)
	fmt.Fprintf(s.out, "data directory: %s\n", s.absDataDir())
}

func (s *Server) absDataDir() string {
	if abs, err := filepath.Abs(s.dataDir); err == nil {
		return abs
	}
	return s.dataDir
}

func (s *Server) mountHealth(mux *http.ServeMux) {
	mux.HandleFunc("/", notFound)
	mux.HandleFunc("/healthz", getOnly)
	mux.HandleFunc("/readyz", getOnly)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"alive"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !s.ready.Load() || !s.parts.storeReady() || !s.readyForWork() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"not ready"}` + "\n"))
			return
		}
		w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
}

// Shutdown stops the node in order: report not ready, stop accepting and
// finish in-flight requests, close push connections, then flush and close
// the store. It returns the first error met; it always tries every step.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	endHooks := s.parts.beginShutdown(ctx)
	defer endHooks()
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	// In-flight requests get httpGrace to finish; connections still busy
	// after it (a client that stopped sending its body, say) are closed,
	// so no client can hold the shutdown up, and the store keeps the rest
	// of ctx to flush.
	hctx, cancel := context.WithTimeout(ctx, httpGrace(ctx))
	defer cancel()
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(hctx); err != nil {
				srv.Close()
				if ctx.Err() != nil {
					emu.Lock()
					errs = append(errs, fmt.Errorf("shutdown http: %w", err))
					emu.Unlock()
				} else {
					s.log.Warn("shutdown: closed connections still busy after the grace period", "grace", httpGrace(ctx))
				}
			}
		}()
	}
	wg.Wait()
	if err := s.parts.close(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
