package oplog

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/stats"
)

// QueueSize is how many lines may wait for the writer.
const QueueSize = 4096

// line is one pending log line.
type line struct {
	closed   bool
	id       string
	tenant   string
	endpoint string
	async    bool
	restored bool
	by       string
	reason   string
	agent    string
	duration time.Duration
	messages int
	parties  int
}

// Journal logs session creations and closes.
type Journal struct {
	log     *slog.Logger
	q       chan line
	dropped atomic.Int64
	done    chan struct{}

	mu     sync.RWMutex // guards closed and the closing of q
	closed bool
}

// New starts a Journal writing to log.
func New(log *slog.Logger) *Journal {
	j := &Journal{log: log, q: make(chan line, QueueSize), done: make(chan struct{})}
	go j.run()
	return j
}

func (j *Journal) enqueue(l line) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		j.dropped.Add(1)
		return
	}
	select {
	case j.q <- l:
	default:
		j.dropped.Add(1)
	}
}

// SessionCreated queues a "session created" line.
func (j *Journal) SessionCreated(info *chat.Info) chat.Waiter {
	j.enqueue(line{id: info.ID, tenant: info.Tenant, endpoint: info.Endpoint, async: info.Async, restored: info.Restored})
	return nil
}

// SessionUpdated does nothing.
func (j *Journal) SessionUpdated(*chat.Info) chat.Waiter { return nil }

// EventAppended does nothing.
func (j *Journal) EventAppended(string, *chat.Event) chat.Waiter { return nil }

// SessionClosed queues a "session closed" line.
func (j *Journal) SessionClosed(f *chat.Final) chat.Waiter {
	msgs := 0
	for i := range f.Events {
		if f.Events[i].Kind == chat.Message {
			msgs++
		}
	}
	agent, by, reason := stats.Ending(f)
	j.enqueue(line{closed: true, id: f.ID, tenant: f.Tenant, endpoint: f.Endpoint, async: f.Async,
		by: by, reason: reason, agent: agent, duration: f.ClosedAt.Sub(f.CreatedAt), messages: msgs, parties: len(f.Participants)})
	return nil
}

func (j *Journal) run() {
	defer close(j.done)
	for l := range j.q {
		if n := j.dropped.Swap(0); n > 0 {
			j.log.Warn("operational log lines dropped: the log writer fell behind", "dropped", n)
		}
		if !l.closed {
			j.log.Info("session created", "session", l.id, "tenant", l.tenant, "endpoint", l.endpoint, "async", l.async, "restored", l.restored)
			continue
		}
		j.log.Info("session closed", "session", l.id, "tenant", l.tenant, "endpoint", l.endpoint,
			"ended_by", l.by, "reason", l.reason, "agent", l.agent,
			"duration", l.duration.Round(time.Millisecond), "messages", l.messages, "parties", l.parties)
	}
}

// Close writes what is queued and stops; lines reported later are
// dropped. It may be called more than once.
func (j *Journal) Close() {
	j.mu.Lock()
	if !j.closed {
		j.closed = true
		close(j.q)
	}
	j.mu.Unlock()
	<-j.done
}

var _ chat.Journal = (*Journal)(nil)
