package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseMsg(t *testing.T) {
	tests := []struct {
		text        string
		stream, seq uint32
		sent        int64
		ok          bool
	}{
		{"cfb:1:2:3", 1, 2, 3, true},
		{"cfb:17:5:123456789 hello there", 17, 5, 123456789, true},
		{"cfb:17:5:_5552345678 hello", 17, 5, 5552345678, true},
		{"cfb:1:2", 0, 0, 0, false},
		{"cfb:0:2:3", 0, 0, 0, false},
		{"cfb:1:0:3", 0, 0, 0, false},
		{"cfb:x:2:3", 0, 0, 0, false},
		{"cfb:1 2:3", 0, 0, 0, false},
		{"cfb:", 0, 0, 0, false},
	}
	for _, tc := range tests {
		s, q, n, ok := parseMsg(tc.text)
		if ok != tc.ok || s != tc.stream || q != tc.seq || n != tc.sent {
			t.Errorf("parseMsg(%q) = %d %d %d %v, want %d %d %d %v", tc.text, s, q, n, ok, tc.stream, tc.seq, tc.sent, tc.ok)
		}
	}
}

// trackerOp is one step of a tracker scenario: a sender numbering and
// acknowledging a message, or a party receiving the text of message n of a
// stream.
type trackerOp struct {
	send    string // stream name: number the next message and ack it
	noAck   string // stream name: number the next message, never ack it
	recv    string // party name
	of      string // stream name of the received message
	n       int    // message number received (1-based, as sent)
	rawText string // received text given verbatim instead of of/n
}

func TestTracker(t *testing.T) {
	type counts struct{ delivered, lost, dup, reordered, leaked, malformed, sent int64 }
	tests := []struct {
		name string
		ops  []trackerOp
		want counts
	}{
		{
			name: "all delivered in order",
			ops: []trackerOp{
				{send: "cust"}, {send: "cust"}, {send: "agent"},
				{recv: "agent", of: "cust", n: 1}, {recv: "agent", of: "cust", n: 2},
				{recv: "cust", of: "agent", n: 1},
			},
			want: counts{delivered: 3, sent: 3},
		},
		{
			name: "own echo is ignored",
			ops: []trackerOp{
				{send: "cust"}, {recv: "cust", of: "cust", n: 1}, {recv: "agent", of: "cust", n: 1},
			},
			want: counts{delivered: 1, sent: 1},
		},
		{
			name: "lost when never received",
			ops:  []trackerOp{{send: "cust"}, {send: "cust"}, {recv: "agent", of: "cust", n: 1}},
			want: counts{delivered: 1, lost: 1, sent: 2},
		},
		{
			name: "unacknowledged message may go missing",
			ops:  []trackerOp{{send: "cust"}, {noAck: "cust"}, {recv: "agent", of: "cust", n: 1}},
			want: counts{delivered: 1, sent: 1},
		},
		{
			name: "unacknowledged message may still arrive",
			ops:  []trackerOp{{noAck: "cust"}, {recv: "agent", of: "cust", n: 1}},
			want: counts{delivered: 1},
		},
		{
			name: "duplicate",
			ops: []trackerOp{
				{send: "cust"}, {recv: "agent", of: "cust", n: 1}, {recv: "agent", of: "cust", n: 1},
			},
			want: counts{delivered: 1, dup: 1, sent: 1},
		},
		{
			name: "reordered",
			ops: []trackerOp{
				{send: "cust"}, {send: "cust"}, {send: "cust"},
				{recv: "agent", of: "cust", n: 1}, {recv: "agent", of: "cust", n: 3}, {recv: "agent", of: "cust", n: 2},
			},
			want: counts{delivered: 3, reordered: 1, sent: 3},
		},
		{
			name: "coaching reaches the agent, not the customer",
			ops: []trackerOp{
				{send: "esp-int"}, {recv: "agent", of: "esp-int", n: 1}, {recv: "cust", of: "esp-int", n: 1},
			},
			want: counts{delivered: 1, leaked: 1, sent: 1},
		},
		{
			name: "customer is not owed coaching messages",
			ops:  []trackerOp{{send: "agent-int"}, {send: "esp-int"}, {recv: "agent", of: "esp-int", n: 1}},
			want: counts{delivered: 1, sent: 2},
		},
		{
			name: "message from another session is a leak",
			ops:  []trackerOp{{send: "other"}, {recv: "cust", of: "other", n: 1}},
			want: counts{leaked: 1, sent: 1, lost: 0},
		},
		{
			name: "unknown stream is a leak",
			ops:  []trackerOp{{recv: "cust", rawText: "cfb:999:1:0"}},
			want: counts{leaked: 1},
		},
		{
			name: "malformed bench text",
			ops:  []trackerOp{{recv: "cust", rawText: "cfb:1:x:0"}},
			want: counts{malformed: 1},
		},
		{
			name: "foreign text is ignored",
			ops:  []trackerOp{{recv: "cust", rawText: "An agent will be with you shortly"}},
			want: counts{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(time.Now(), "filler", nil)
			s := tr.NewSession()
			other := tr.NewSession()
			parties := map[string]*Party{
				"cust":  s.AddParty(RoleCustomer),
				"agent": s.AddParty(RoleAgent),
				"x":     other.AddParty(RoleCustomer), // the other session's customer
			}
			streams := map[string]*Stream{
				"cust":      s.NewStream(parties["cust"], VisAll),
				"agent":     s.NewStream(parties["agent"], VisAll),
				"agent-int": s.NewStream(parties["agent"], VisInt),
				"esp-int":   s.NewStream(nil, VisInt),
				"other":     other.NewStream(parties["x"], VisAll),
			}
			texts := map[string][]string{}
			for _, op := range tc.ops {
				switch {
				case op.send != "" || op.noAck != "":
					name := op.send + op.noAck
					seq, text := streams[name].Next()
					texts[name] = append(texts[name], text)
					if op.send != "" {
						streams[name].Ack(seq)
					}
				case op.rawText != "":
					parties[op.recv].Receive(op.rawText)
				default:
					parties[op.recv].Receive(texts[op.of][op.n-1])
				}
			}
			s.Finish()
			got := counts{tr.Delivered.Load(), tr.Lost.Load(), tr.Duplicated.Load(), tr.Reordered.Load(),
				tr.Leaked.Load(), tr.Malformed.Load(), tr.Sent.Load()}
			if got != tc.want {
				t.Errorf("counts = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTrackerLatencyOnlyAfterJoin(t *testing.T) {
	var lats []time.Duration
	tr := NewTracker(time.Now(), "", func(d time.Duration) { lats = append(lats, d) })
	s := tr.NewSession()
	cust := s.AddParty(RoleCustomer)
	st := s.NewStream(cust, VisAll)
	seq, early := st.Next() // sent before the agent joins: checked, not timed
	st.Ack(seq)
	time.Sleep(2 * time.Millisecond)
	agent := s.AddParty(RoleAgent)
	seq, late := st.Next()
	st.Ack(seq)
	agent.Receive(early)
	agent.Receive(late)
	if tr.Delivered.Load() != 2 || len(lats) != 1 {
		t.Fatalf("delivered %d, timed %d; want 2 delivered, 1 timed", tr.Delivered.Load(), len(lats))
	}
	if !strings.HasPrefix(late, msgPrefix) || lats[0] < 0 || lats[0] > time.Second {
		t.Fatalf("latency %v out of range", lats[0])
	}
}

func TestWaitCaughtUpAndFinishIdempotent(t *testing.T) {
	tr := NewTracker(time.Now(), "", nil)
	s := tr.NewSession()
	cust := s.AddParty(RoleCustomer)
	agent := s.AddParty(RoleAgent)
	st := s.NewStream(cust, VisAll)
	seq, text := st.Next()
	st.Ack(seq)
	if agent.WaitCaughtUp(context.Background(), 20*time.Millisecond) {
		t.Fatal("caught up before receiving")
	}
	go func() { time.Sleep(10 * time.Millisecond); agent.Receive(text) }()
	if !agent.WaitCaughtUp(context.Background(), 2*time.Second) {
		t.Fatal("not caught up after receiving")
	}
	if s.Finish() != 0 || s.Finish() != 0 || tr.Lost.Load() != 0 {
		t.Fatalf("lost %d", tr.Lost.Load())
	}
}

// TestWaitCaughtUpWakes: a waiter is woken by the reception that completes
// its party, not by one that leaves a message missing, and an
// acknowledgement that comes during the wait is waited for too.
func TestWaitCaughtUpWakes(t *testing.T) {
	tr := NewTracker(time.Now(), "", nil)
	s := tr.NewSession()
	cust := s.AddParty(RoleCustomer)
	agent := s.AddParty(RoleAgent)
	st := s.NewStream(cust, VisAll)
	seq1, text1 := st.Next()
	st.Ack(seq1)
	done := make(chan bool, 1)
	go func() { done <- agent.WaitCaughtUp(context.Background(), time.Minute) }()
	seq2, text2 := st.Next()
	st.Ack(seq2) // acknowledged while the waiter may already wait
	agent.Receive(text2)
	select {
	case <-done:
		t.Fatal("the waiter returned with message 1 still missing")
	case <-time.After(20 * time.Millisecond):
	}
	agent.Receive(text1)
	if !<-done {
		t.Fatal("the waiter did not catch up")
	}
	// A cancelled context ends a wait that would not catch up.
	seq3, _ := st.Next()
	st.Ack(seq3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if agent.WaitCaughtUp(ctx, time.Minute) {
		t.Fatal("caught up with message 3 missing")
	}
}

// TestWaitCaughtUpAfterCounting: the waiter is woken only once the
// completing reception is counted and timed, so a window that reads
// Delivered right after the wait includes it.
func TestWaitCaughtUpAfterCounting(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	tr := NewTracker(time.Now(), "", func(time.Duration) {
		entered <- struct{}{}
		<-release
	})
	s := tr.NewSession()
	cust := s.AddParty(RoleCustomer)
	agent := s.AddParty(RoleAgent)
	st := s.NewStream(cust, VisAll)
	seq, text := st.Next()
	st.Ack(seq)
	done := make(chan int64, 1)
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		agent.WaitCaughtUp(context.Background(), time.Minute)
		done <- tr.Delivered.Load()
	}()
	<-waiting
	time.Sleep(10 * time.Millisecond) // let the waiter wait (either order is correct)
	go agent.Receive(text)
	<-entered // the reception is being timed
	select {
	case n := <-done:
		t.Fatalf("the waiter returned (delivered %d) before the reception was counted and timed", n)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if n := <-done; n != 1 {
		t.Fatalf("delivered %d after the wait, want 1", n)
	}
}
