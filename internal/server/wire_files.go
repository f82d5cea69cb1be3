package server

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/documents"
	"github.com/confab/confab/internal/push"
)

// fileParts are file transfer and push notifications, which the customer
// API and the agent protocol share: the agent documents endpoint (which
// also completes agents' file-uploaded notices), the push service (a
// journal of the engine, acknowledged by the customer API's refresh, and
// the target of the flex-push-timeout ping: push.Service.Ping), and the
// documents' retention janitor.
type fileParts struct {
	docs    *agent.Documents
	push    *push.Service
	janitor *documents.Janitor
	api     atomic.Pointer[webapi.API]
}

// fileParts builds the shared pieces once per node.
func (s *Server) fileParts(p *parts) *fileParts {
	if p.files != nil {
		return p.files
	}
	fp := &fileParts{}
	log := s.log.With("adapter", "files")
	fp.docs = agent.NewDocuments(agent.DocumentsOptions{
		Engine: s.engine, Agents: p.store, Docs: p.store, Log: log,
		MaxSize: func() int64 { return int64(s.cfg.Load().Documents.AgentUploadMaxSize) },
	})
	fp.push = push.New(push.Options{
		Config: s.Config, Clock: s.clock, Outbox: p.store, Alias: "1", Log: s.log.With("adapter", "push"),
		Resume: p.ha.resumePush, // wire_haagent.go
		Owner:  s.pushOwner(p),  // wire_cluster.go
		Encode: func(dst []byte, ev *chat.Event) ([]byte, bool) {
			if a := fp.api.Load(); a != nil {
				return a.EncodeEvent(dst, ev)
			}
			return dst, false
		},
		Connected: func(id string) bool {
			a := fp.api.Load()
			return a != nil && a.Connected(id)
		},
		Secret: func(sessionID, userID string) string {
			sess, err := s.engine.Get(sessionID)
			if err != nil {
				return ""
			}
			pt, err := sess.Participant(userID)
			if err != nil {
				return ""
			}
			return pt.Secret
		},
	})
	p.addJournal(fp.push)
	if s.pinger != nil {
		s.pinger.to.Store(fp.push) // flex-push-timeout pings go out as push notifications
	}
	if n, err := fp.push.Load(context.Background()); err != nil {
		log.Error("push: pending notifications not loaded", "err", err)
	} else if n > 0 {
		p.say("push: %d reliable notifications resumed", n)
	}
	fp.janitor = documents.NewJanitor(p.store, s.clock, func() time.Duration { return s.cfg.Load().Documents.Retention }, log)
	p.add(config.PortAgent, fp.docs, func(ctx context.Context) {
		fp.push.Close(ctx)
		fp.janitor.Stop()
	})
	p.files = fp
	s.registerFileCounters(fp)
	return fp
}

// registerFileCounters shows the push and document counters on /Counters
// and /metrics (computed when read; the cumulative ones are running totals
// since the node started).
func (s *Server) registerFileCounters(fp *fileParts) {
	set := s.ops.counters
	if set == nil {
		return
	}
	pushStat := func(name, help string, f func(push.Stats) int64) {
		set.Gauge("push_"+name, "confab_push_"+name, help, func() int64 { return f(fp.push.Stats()) })
	}
	pushStat("subscribed", "Customers subscribed to push notifications now.", func(st push.Stats) int64 { return int64(st.Subscribed) })
	pushStat("pending", "Reliable push notifications waiting for the customer's refresh now.", func(st push.Stats) int64 { return int64(st.Pending) })
	pushStat("queued", "Push notifications queued since start.", func(st push.Stats) int64 { return st.Queued })
	pushStat("dropped", "Push notifications dropped by a full destination queue since start.", func(st push.Stats) int64 { return st.Dropped })
	pushStat("attempts", "Push notification POSTs made since start.", func(st push.Stats) int64 { return st.Attempts })
	pushStat("delivered", "Push notification POSTs answered 2xx since start.", func(st push.Stats) int64 { return st.Delivered })
	pushStat("failures", "Push notification POSTs that failed since start.", func(st push.Stats) int64 { return st.Failures })
	pushStat("given_up", "Push notifications given up after delivery-attempts failures since start.", func(st push.Stats) int64 { return st.GivenUp })
	pushStat("resends", "Reliable push notifications resent for want of a refresh since start.", func(st push.Stats) int64 { return st.Resends })
	pushStat("latency_ms", "Total delivery time of the delivered push POSTs since start, in milliseconds.", func(st push.Stats) int64 { return st.LatencyTotal.Milliseconds() })
	docStat := func(name, help string, f func(DocumentCounts) int64) {
		set.Gauge("file_"+name, "confab_file_"+name, help, func() int64 { return f(s.DocumentCounts()) })
	}
	docStat("customer_uploads", "Files customers uploaded since start.", func(c DocumentCounts) int64 { return c.CustomerUploads })
	docStat("customer_downloads", "Files customers downloaded since start.", func(c DocumentCounts) int64 { return c.CustomerDownloads })
	docStat("agent_uploads", "Documents agents uploaded since start.", func(c DocumentCounts) int64 { return c.AgentUploads })
	docStat("agent_downloads", "Documents agents downloaded since start.", func(c DocumentCounts) int64 { return c.AgentDownloads })
	docStat("purged", "Documents deleted by [documents] retention since start.", func(c DocumentCounts) int64 { return c.Purged })
}

// bindWebAPI gives the push service the customer API's event encoding and
// connection state.
func (fp *fileParts) bindWebAPI(a *webapi.API) { fp.api.Store(a) }

// PushStats returns the push notifications' counters (attempts, failures,
// latency, ...); zero before the node is built.
func (s *Server) PushStats() push.Stats {
	if s.parts == nil || s.parts.files == nil {
		return push.Stats{}
	}
	return s.parts.files.push.Stats()
}

// DocumentCounts returns the file operations the node has served: customer
// uploads and downloads, agent uploads and downloads, documents purged by
// the retention rule.
func (s *Server) DocumentCounts() DocumentCounts {
	var c DocumentCounts
	if s.parts == nil || s.parts.files == nil {
		return c
	}
	fp := s.parts.files
	if a := fp.api.Load(); a != nil {
		fc := a.FileCounts()
		c.CustomerUploads, c.CustomerDownloads = fc.Uploaded, fc.Downloaded
	}
	ac := fp.docs.Counts()
	c.AgentUploads, c.AgentDownloads, c.AgentRefused = ac.Uploads, ac.Downloads, ac.Refused
	c.Purged = fp.janitor.Purged()
	return c
}

// DocumentCounts are the node's file-operation counters.
type DocumentCounts struct {
	CustomerUploads, CustomerDownloads         int64
	AgentUploads, AgentDownloads, AgentRefused int64
	Purged                                     int64
}
