package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func codeOf(err error) int {
	var e *wire.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

// stash keeps the frames nextFrame passed over, per client, so a later
// call still finds them (frames of different kinds may arrive in either
// order).
var (
	stashMu sync.Mutex
	stash   = map[*wire.Client][]wire.Frame{}
)

// nextFrame returns the first frame of one of the types, kept or new.
func nextFrame(t *testing.T, c *wire.Client, types ...string) wire.Frame {
	t.Helper()
	match := func(f wire.Frame) bool { return slices.Contains(types, f.Type) }
	stashMu.Lock()
	for i, f := range stash[c] {
		if match(f) {
			stash[c] = slices.Delete(stash[c], i, i+1)
			stashMu.Unlock()
			return f
		}
	}
	stashMu.Unlock()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("agent connection ended: %v", c.Err())
			}
			if match(f) {
				return f
			}
			if f.Type != wire.FrameEvents {
				stashMu.Lock()
				stash[c] = append(stash[c], f)
				stashMu.Unlock()
			}
		case <-timeout:
			t.Fatalf("no %v frame came", types)
		}
	}
}

// waitOffer waits for the offer of one interaction.
func waitOffer(t *testing.T, c *wire.Client, id string) wire.Frame {
	t.Helper()
	var other []wire.Frame
	defer func() {
		stashMu.Lock()
		stash[c] = append(stash[c], other...)
		stashMu.Unlock()
	}()
	for {
		f := nextFrame(t, c, wire.FrameOffer)
		if f.InteractionID == id {
			return f
		}
		other = append(other, f)
	}
}

// noOffer checks that no offer frame is waiting for c.
func noOffer(t *testing.T, c *wire.Client, who string) {
	t.Helper()
	if err := c.Ping(context.Background()); err != nil { // frames sent before the answer have arrived
		t.Fatal(err)
	}
	stashMu.Lock()
	defer stashMu.Unlock()
	for _, f := range stash[c] {
		if f.Type == wire.FrameOffer {
			t.Fatalf("%s got an unexpected offer of %s", who, f.InteractionID)
		}
	}
	for {
		select {
		case f := <-c.Frames():
			if f.Type == wire.FrameOffer {
				t.Fatalf("%s got an unexpected offer of %s", who, f.InteractionID)
			}
		default:
			return
		}
	}
}

// customerView is what one customer has seen so far.
type customerView struct {
	ch   *chatv2.Chat
	next int
	all  []chatv2.Message
	mark int // sees looks at all[mark:], in order
}

// refresh reads what is new for the customer and returns it.
func (v *customerView) refresh(t *testing.T) []chatv2.Message {
	t.Helper()
	resp, err := v.ch.Refresh(context.Background(), v.next)
	if err != nil {
		t.Fatal(err)
	}
	if resp.NextPosition > 0 {
		v.next = resp.NextPosition
	}
	v.all = append(v.all, resp.Messages...)
	return resp.Messages
}

// sees waits until the customer sees, after what earlier calls matched,
// an event of that type from that nickname (with that text, if given).
func (v *customerView) sees(t *testing.T, typ, nick, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v.refresh(t)
		for i := v.mark; i < len(v.all); i++ {
			if m := v.all[i]; m.Type == typ && m.From.Nickname == nick && (text == "" || m.Text == text) {
				v.mark = i + 1
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the customer never saw %s from %s %q; saw %+v", typ, nick, text, v.all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// never fails if the customer has seen anything from nick or with text.
func (v *customerView) never(t *testing.T, nick, text string) {
	t.Helper()
	v.refresh(t)
	for _, m := range v.all {
		if (nick != "" && m.From.Nickname == nick) || (text != "" && m.Text == text) {
			t.Fatalf("the customer saw %+v", m)
		}
	}
}

// TestRoutingEndToEnd runs the routing scenario over real sockets: two
// agents with capacity 1 and three customers; offers go out at once to
// both agents and the third chat waits until one ends; a transfer; a
// conference; a supervisor monitoring and then barging in. At each step
// the customer sees exactly what the visibility rules say.
func TestRoutingEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startE2E(t, dir, "[routing]\noffer-timeout = 30\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ann, ben, sue := n.dial(t, "tok-ann"), n.dial(t, "tok-ben"), n.dial(t, "tok-sue")
	for _, c := range []*wire.Client{ann, ben} {
		if f := nextFrame(t, c, wire.FrameState); f.AgentState != wire.StateNotReady {
			t.Fatalf("a new socket starts %q", f.AgentState)
		}
	}
	if err := ann.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	// Ann became ready first (on a tie, too, she would come first: by id).
	if err := ben.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := ann.SetState(ctx, "busy", ""); codeOf(err) != wire.CodeBadRequest {
		t.Fatalf("unknown state: %v", err)
	}

	// Three customers.
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	var views [3]*customerView
	var ids [3]string
	for i := range views {
		ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: fmt.Sprintf("Kim%d", i+1), UserData: map[string]string{"EmailAddress": fmt.Sprintf("kim%d@example.com", i+1)}})
		if err != nil {
			t.Fatal(err)
		}
		views[i], ids[i] = &customerView{ch: ch, next: 1}, ch.ID
	}
	// Two offers at once, longest idle first; the third waits.
	o1 := waitOffer(t, ann, ids[0])
	if o1.OfferKind != wire.OfferRoute || o1.ExpiresAt == nil || o1.Interaction == nil || o1.Interaction.State != "queued" {
		t.Fatalf("offer frame %+v", o1)
	}
	waitOffer(t, ben, ids[1])
	noOffer(t, ann, "ann")
	noOffer(t, ben, "ben")
	if err := ann.Reject(ctx, ids[2]); codeOf(err) != wire.CodeNoOffer {
		t.Fatalf("reject without an offer: %v", err)
	}
	if _, err := ann.Accept(ctx, ids[0], wire.JoinOptions{Text: "Hi, Ann here"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ben.Accept(ctx, ids[1], wire.JoinOptions{Text: "Hi, Ben here"}); err != nil {
		t.Fatal(err)
	}
	views[0].sees(t, chatv2.TypeParticipantJoined, "Ann", "")
	views[1].sees(t, chatv2.TypeParticipantJoined, "Ben", "")
	if q := n.list(t, "default"); stateOf(q, ids[2]) != "queued" {
		t.Fatalf("third chat %+v", q)
	}

	// Ben ends his chat: the third is offered to him; he rejects it, so it
	// waits for another agent.
	if _, err := ben.Release(ctx, ids[1], "CLOSE_IF_NO_AGENTS", "Bye"); err != nil {
		t.Fatal(err)
	}
	waitOffer(t, ben, ids[2])
	if err := ben.Reject(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}

	// Ann transfers the first chat to Ben: Ben joins, Ann leaves (reason 0),
	// and Ann, now free, gets the third chat.
	if err := ann.Transfer(ctx, ids[0], "nobody"); codeOf(err) != wire.CodeBadRequest {
		t.Fatalf("transfer to an unknown agent: %v", err)
	}
	if err := ann.Transfer(ctx, ids[0], "queue:nowhere"); codeOf(err) != wire.CodeBadRequest {
		t.Fatalf("transfer to an unknown queue: %v", err)
	}
	if err := ben.Transfer(ctx, ids[0], "ann"); codeOf(err) != wire.CodeNotJoined {
		t.Fatalf("transfer of a chat ben is not in: %v", err)
	}
	if err := ann.Transfer(ctx, ids[0], "ben"); err != nil {
		t.Fatal(err)
	}
	if q := n.list(t, "default"); stateOf(q, ids[0]) != "transferred" {
		t.Fatalf("state while the transfer is open: %+v", q)
	}
	tf := waitOffer(t, ben, ids[0])
	if tf.OfferKind != wire.OfferTransfer || tf.From != "ann" {
		t.Fatalf("transfer offer %+v", tf)
	}
	if _, err := ben.Accept(ctx, ids[0], wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, ann, wire.FrameTransfer); f.Result != wire.ResultAccepted || f.By != "ben" {
		t.Fatalf("ann was told %+v", f)
	}
	views[0].sees(t, chatv2.TypeParticipantJoined, "Ben", "")
	views[0].sees(t, chatv2.TypeParticipantLeft, "Ann", "")
	waitOffer(t, ann, ids[2])
	if _, err := ann.Accept(ctx, ids[2], wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	views[2].sees(t, chatv2.TypeParticipantJoined, "Ann", "")
	if _, err := ann.Release(ctx, ids[2], "CLOSE_IF_NO_AGENTS", ""); err != nil {
		t.Fatal(err)
	}

	// A conference: Ben invites Ann (ALL); the customer sees her join.
	if err := ben.Invite(ctx, ids[0], "ann", "VIP"); codeOf(err) != wire.CodeBadRequest {
		t.Fatalf("invite with VIP: %v", err)
	}
	if err := ben.Invite(ctx, ids[0], "ann", "ALL"); err != nil {
		t.Fatal(err)
	}
	if f := waitOffer(t, ann, ids[0]); f.OfferKind != wire.OfferInvite || f.Visibility != "ALL" {
		t.Fatalf("invite offer %+v", f)
	}
	if _, err := ann.Accept(ctx, ids[0], wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, ben, wire.FrameInvite); f.Result != wire.ResultAccepted {
		t.Fatalf("ben was told %+v", f)
	}
	views[0].sees(t, chatv2.TypeParticipantJoined, "Ann", "")
	if _, err := ann.Send(ctx, ids[0], wire.Message{Text: "Ann in the conference"}); err != nil {
		t.Fatal(err)
	}
	views[0].sees(t, chatv2.TypeMessage, "Ann", "Ann in the conference")

	// Sue monitors: nobody but supervisors sees her; the customer sees
	// nothing of her or her VIP note.
	if _, err := ann.Join(ctx, ids[1], wire.JoinOptions{}); codeOf(err) != wire.CodeForbidden && codeOf(err) != wire.CodeClosed {
		t.Fatalf("ann joins a chat she has no part in: %v", err)
	}
	sam := n.dial(t, "tok-bob") // an agent, not a supervisor
	if _, err := sam.Monitor(ctx, ids[0]); codeOf(err) != wire.CodeForbidden {
		t.Fatalf("monitor by an agent: %v", err)
	}
	if _, err := sue.Monitor(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := sue.Send(ctx, ids[0], wire.Message{Text: "watching quietly", Visibility: "VIP"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ben.Send(ctx, ids[0], wire.Message{Text: "after the monitor joined"}); err != nil {
		t.Fatal(err)
	}
	views[0].sees(t, chatv2.TypeMessage, "Ben", "after the monitor joined")
	views[0].never(t, "Sue", "watching quietly")

	// Sue barges in: from now on the customer sees her.
	if _, err := sue.BargeIn(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := sue.Send(ctx, ids[0], wire.Message{Text: "Sue here, the supervisor"}); err != nil {
		t.Fatal(err)
	}
	views[0].sees(t, chatv2.TypeParticipantJoined, "Sue", "")
	views[0].sees(t, chatv2.TypeMessage, "Sue", "Sue here, the supervisor")
	views[0].never(t, "", "watching quietly")

	// Everyone leaves; the stored transcript is marked monitored.
	for _, c := range []*wire.Client{sue, ann} {
		if _, err := c.Release(ctx, ids[0], "KEEP_ALIVE", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ben.Release(ctx, ids[0], "CLOSE_IF_NO_AGENTS", ""); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	until(t, "the monitored final transcript", func() bool {
		rec, err := st.GetInteraction(ctx, ids[0])
		var tr struct {
			Monitored bool `json:"monitored"`
		}
		return err == nil && rec.Status == store.StatusClosed && json.Unmarshal(rec.Transcript, &tr) == nil && tr.Monitored
	})
}

func stateOf(list []listed, id string) string {
	for _, v := range list {
		if v.ID == id {
			return v.State
		}
	}
	return ""
}
