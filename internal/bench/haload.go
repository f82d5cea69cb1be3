package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
)

// The HA load: chats spread over a fleet's nodes, each with a customer
// sending through its home node (the node that created the chat and owns
// it) and listening on WebSocket push through one of the nodes (its home
// for a third of the chats, another node — forwarded — for the rest), and
// an agent on a socket of the home node. Both sides send, one message at a
// time (the next once the previous was acknowledged), every Pace. When a
// node is killed its customers' clients move to the other nodes (chatv2
// Options.Nodes, the same client message id on a retry), their push
// subscribers subscribe again from their position, and its agents open
// sockets on the survivors and join each of their chats again on the node
// that restored it (they try each survivor: without agent forwarding a
// join is answered only by the owner). Every text is unique, so losses
// and duplicates are counted exactly at the end, in each transcript and
// on each push channel.

// HAOptions shape an HA load.
type HAOptions struct {
	Chats int
	// AgentsPerNode is how many agent sockets each node serves (the fleet
	// needs Nodes × AgentsPerNode tokens).
	AgentsPerNode int
	// Pace is the pause between one side's messages (0: as fast as they
	// are acknowledged).
	Pace time.Duration
	// AgentsAnywhere puts each chat's agent on a socket of any node, not
	// only its owner's (the agent protocol relays to the owner), and lets
	// client/agent's failover (Options.Nodes) move a socket whose node
	// died and join its sessions again as the same parties.
	AgentsAnywhere bool
	// SingleHome creates every chat on node HomeNode (a drain's load)
	// instead of spreading them over the nodes.
	SingleHome bool
	HomeNode   int
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// HALoad is a running HA load over a fleet. Safe for concurrent use.
type HALoad struct {
	f     *Fleet
	o     HAOptions
	hc    *http.Client
	chats []*haChat
	desks []*haDesk
	ack   Histogram // send → acknowledgement

	acked  atomic.Int64
	failed atomic.Int64 // sends not acknowledged (node gone, not yet restored)

	stop    chan struct{}
	wake    chan struct{} // closed by Kill or Mark
	senders sync.WaitGroup
	readers sync.WaitGroup
	cancel  context.CancelFunc

	mu     sync.Mutex // guards the following
	killAt time.Time
	killed int         // the killed node, -1 before
	closes map[int]int // push channels closed by the server, by close code
}

type haChat struct {
	i, home, subNode int
	desk             *haDesk
	cust             *chatv2.Chat // REST, through its home node first
	subc             *chatv2.Chat // push, through subNode first

	mu        sync.Mutex // guards the following
	acked     []string
	got       map[string]int // texts received on push
	afterKill [2]int         // customer, agent acknowledgements after the kill
	answered  time.Time      // first customer acknowledgement after the kill
	agentBack time.Time      // first agent acknowledgement after the kill
	conn      *agent.Client  // the agent's socket serving this chat
}

type haDesk struct {
	token string
	home  int

	mu    sync.Mutex // guards conns
	conns map[int]*agent.Client
}

// NewHALoad creates the chats (with their push subscribers and accepting
// agents) over the fleet; Start starts the senders.
func NewHALoad(ctx context.Context, f *Fleet, o HAOptions) (*HALoad, error) {
	n := len(f.Nodes)
	if o.AgentsPerNode <= 0 {
		o.AgentsPerNode = 1
	}
	if len(f.Tokens) < n*o.AgentsPerNode {
		return nil, fmt.Errorf("ha load: %d agent tokens, need %d", len(f.Tokens), n*o.AgentsPerNode)
	}
	l := &HALoad{f: f, o: o, stop: make(chan struct{}), wake: make(chan struct{}), killed: -1, closes: map[int]int{},
		hc: &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		}}}
	for d := range n * o.AgentsPerNode {
		l.desks = append(l.desks, &haDesk{token: f.Tokens[d], home: d % n, conns: map[int]*agent.Client{}})
	}
	rctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.chats = make([]*haChat, o.Chats)
	errs := make(chan error, o.Chats)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range o.Chats {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := l.newChat(ctx, i)
			if err != nil {
				errs <- fmt.Errorf("chat %d: %w", i, err)
				return
			}
			l.chats[i] = c
			l.readers.Add(1)
			go l.subscribe(rctx, c)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *HALoad) client(first int) *chatv2.Client {
	urls := l.f.ChatURLs(first)
	return chatv2.New(urls[0], chatv2.Options{HTTPClient: l.hc, Nodes: urls[1:]})
}

func (l *HALoad) newChat(ctx context.Context, i int) (*haChat, error) {
	n := len(l.f.Nodes)
	home := i % n
	if l.o.SingleHome {
		home = l.o.HomeNode
	}
	ch := &haChat{i: i, home: home, subNode: (home + i/n) % n, got: map[string]int{}}
	// Node home's desks, in turn; with AgentsAnywhere every desk in turn,
	// whatever its node.
	ch.desk = l.desks[home+n*((i/n)%l.o.AgentsPerNode)]
	if l.o.AgentsAnywhere {
		ch.desk = l.desks[(i/n)%len(l.desks)]
	}
	c, _, err := l.client(home).RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: fmt.Sprint("ha-", i)})
	if err != nil {
		return nil, err
	}
	ch.cust = c
	ch.subc = l.client(ch.subNode).Resume(c.Service, c.ID, c.UserID, c.SecureKey, c.Alias())
	node := home
	if l.o.AgentsAnywhere {
		node = ch.desk.home
	}
	conn, err := ch.desk.conn(ctx, l, node)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Accept(ctx, c.ID, agent.JoinOptions{}); err != nil {
		return nil, fmt.Errorf("agent accepts: %w", err)
	}
	ch.conn = conn
	return ch, nil
}

// conn returns the desk's socket on a node, dialling it when needed.
func (d *haDesk) conn(ctx context.Context, l *HALoad, node int) (*agent.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.conns[node]; c != nil {
		select {
		case <-c.Done():
		default:
			return c, nil
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	opts := &agent.Options{FrameBuffer: 1 << 12, HTTPClient: l.hc}
	if l.o.AgentsAnywhere {
		for k := 1; k < len(l.f.Nodes); k++ {
			opts.Nodes = append(opts.Nodes, l.f.Nodes[(node+k)%len(l.f.Nodes)].URLs.Agent)
		}
	}
	c, err := agent.Dial(dctx, l.f.Nodes[node].URLs.Agent, d.token, opts)
	if err != nil {
		return nil, err
	}
	go func() {
		for range c.Frames() {
		}
	}()
	d.conns[node] = c
	return c, nil
}

// subscribe keeps a chat's push channel open, subscribing again from its
// position whenever it closes (moved, node gone), and records the texts.
func (l *HALoad) subscribe(ctx context.Context, c *haChat) {
	defer l.readers.Done()
	pos := 1
	for ctx.Err() == nil {
		sub, err := c.subc.Subscribe(ctx, pos)
		if err != nil {
			sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		for {
			resp, err := sub.Next(ctx)
			if err != nil {
				var re *chatv2.ResyncError
				var ce *chatv2.ClosedError
				switch {
				case errors.As(err, &re):
					pos = re.From
				case errors.As(err, &ce):
					pos = ce.Resume
					l.mu.Lock()
					l.closes[ce.Code]++
					l.mu.Unlock()
				default:
					pos = sub.Position()
				}
				sub.Close()
				if err == io.EOF { // exactly: a broken connection wraps EOF too
					return // the chat ended
				}
				break
			}
			c.mu.Lock()
			for _, m := range resp.Messages {
				if m.Type == chatv2.TypeMessage {
					c.got[m.Text]++
				}
			}
			c.mu.Unlock()
			pos = sub.Position()
		}
	}
}

// Start starts both sides' senders.
func (l *HALoad) Start(ctx context.Context) {
	for _, c := range l.chats {
		l.senders.Add(2)
		go l.sendCustomer(ctx, c)
		go l.sendAgent(ctx, c)
	}
}

func (l *HALoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// pause waits Pace between one side's messages; the kill (or Mark) cuts
// the wait of a side that has not sent since, so that the time to answer
// again measures the cluster, not the pace.
func (l *HALoad) pause(ctx context.Context, c *haChat, side int) {
	if l.o.Pace <= 0 {
		return
	}
	c.mu.Lock()
	sentSince := c.afterKill[side] > 0
	c.mu.Unlock()
	wake := l.wake
	if sentSince {
		wake = nil
	}
	select {
	case <-ctx.Done():
	case <-l.stop:
	case <-wake:
	case <-time.After(l.o.Pace):
	}
}

func (l *HALoad) kill() (time.Time, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.killAt, l.killed
}

// acknowledged records an acknowledged text of a side (0 customer, 1
// agent).
func (l *HALoad) acknowledged(c *haChat, side int, text string, sent time.Time) {
	now := time.Now()
	l.ack.RecordDuration(now.Sub(sent))
	l.acked.Add(1)
	killAt, _ := l.kill()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked = append(c.acked, text)
	if !killAt.IsZero() && sent.After(killAt) {
		c.afterKill[side]++
		if side == 0 && c.answered.IsZero() {
			c.answered = now
		}
		if side == 1 && c.agentBack.IsZero() {
			c.agentBack = now
		}
	}
}

func (l *HALoad) sendCustomer(ctx context.Context, c *haChat) {
	defer l.senders.Done()
	for k := 0; !l.stopped() && ctx.Err() == nil; k++ {
		text := fmt.Sprintf("c-%d-%d", c.i, k)
		// A retry keeps the client message id: a try that was taken but
		// whose answer was lost is not added twice.
		opts := &chatv2.SendOptions{ClientMessageID: text}
		for !l.stopped() && ctx.Err() == nil {
			sent := time.Now()
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resp, err := c.cust.Send(sctx, text, opts)
			cancel()
			if err == nil && resp.StatusCode == 0 {
				l.acknowledged(c, 0, text, sent)
				break
			}
			l.failed.Add(1)
			sleepCtx(ctx, 100*time.Millisecond)
		}
		l.pause(ctx, c, 0)
	}
}

func (l *HALoad) sendAgent(ctx context.Context, c *haChat) {
	defer l.senders.Done()
	for k := 0; !l.stopped() && ctx.Err() == nil; k++ {
		c.mu.Lock()
		conn := c.conn
		c.mu.Unlock()
		if conn == nil {
			if conn = l.rejoin(ctx, c); conn == nil {
				sleepCtx(ctx, 200*time.Millisecond)
				continue
			}
		}
		// A failed agent send is not retried with the same text (the agent
		// protocol deduplicates per socket only): the next has a new one.
		text := fmt.Sprintf("a-%d-%d", c.i, k)
		sent := time.Now()
		wait := 5 * time.Second
		if l.o.AgentsAnywhere {
			wait = 30 * time.Second // the client sends it again once it has rejoined
		}
		sctx, cancel := context.WithTimeout(ctx, wait)
		_, err := conn.Send(sctx, c.cust.ID, agent.Message{Text: text})
		cancel()
		if err == nil {
			l.acknowledged(c, 1, text, sent)
			l.pause(ctx, c, 1)
			continue
		}
		l.failed.Add(1)
		if !l.o.AgentsAnywhere { // there the client rejoins by itself
			c.mu.Lock()
			c.conn = nil // rejoin: the socket or the session's node is gone
			c.mu.Unlock()
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// rejoin joins the agent to its chat again on whichever live node holds
// it (the one that restored it), trying the desk's home first.
func (l *HALoad) rejoin(ctx context.Context, c *haChat) *agent.Client {
	n := len(l.f.Nodes)
	for k := range n {
		node := (c.desk.home + k) % n
		if !l.f.Alive(node) {
			continue
		}
		conn, err := c.desk.conn(ctx, l, node)
		if err != nil {
			continue
		}
		jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = conn.Join(jctx, c.cust.ID, agent.JoinOptions{})
		cancel()
		if err == nil {
			c.mu.Lock()
			c.conn = conn
			c.mu.Unlock()
			return conn
		}
	}
	return nil
}

// Kill SIGKILLs node i and notes the time.
func (l *HALoad) Kill(i int) time.Time {
	l.mu.Lock()
	l.killAt, l.killed = time.Now(), i
	at := l.killAt
	l.mu.Unlock()
	l.f.Kill(i)
	close(l.wake)
	return at
}

// Mark notes the time node i starts losing its chats without killing it
// (a drain): from then on the load counts and times the chats of node i
// answering again as it does after Kill.
func (l *HALoad) Mark(i int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.killAt, l.killed = time.Now(), i
	close(l.wake)
	return l.killAt
}

// Acked returns how many messages were acknowledged so far.
func (l *HALoad) Acked() int64 { return l.acked.Load() }

// WaitRecovered waits until every chat has had at least each
// acknowledgements from each side since the kill (the killed node's chats
// answer again on survivors, the others never stopped).
func (l *HALoad) WaitRecovered(ctx context.Context, each int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		behind := 0
		for _, c := range l.chats {
			c.mu.Lock()
			if c.afterKill[0] < each || c.afterKill[1] < each {
				behind++
			}
			c.mu.Unlock()
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("ha load: %d of %d chats did not answer %d times on both sides within %v of the kill", behind, len(l.chats), each, timeout)
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

// Close stops everything the load runs and closes its sockets.
func (l *HALoad) Close() {
	l.StopSenders()
	if l.cancel != nil {
		l.cancel()
	}
	l.readers.Wait()
	for _, d := range l.desks {
		d.mu.Lock()
		for _, c := range d.conns {
			c.Close()
		}
		d.mu.Unlock()
	}
	l.hc.CloseIdleConnections()
}

// CloseCodes returns how many push channels the server closed, by
// WebSocket close code (4010: the chat moved to another node).
func (l *HALoad) CloseCodes() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int]int, len(l.closes))
	for k, v := range l.closes {
		out[k] = v
	}
	return out
}

// ChatHomes returns each chat's id and the node that created (first owned)
// it.
func (l *HALoad) ChatHomes() map[string]int {
	out := make(map[string]int, len(l.chats))
	for _, c := range l.chats {
		out[c.cust.ID] = c.home
	}
	return out
}
