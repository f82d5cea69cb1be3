package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

// cardsSeen reads an agent client's frames until it has seen n card
// messages and returns their copies ("clear"/"masked") in order.
func cardsSeen(t *testing.T, c *wire.Client, n int) []string {
	t.Helper()
	var out []string
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatalf("agent connection ended: %v", c.Err())
			}
			for _, ev := range f.Events {
				if ev.Kind == "message" && cardCopy(ev.Text) != "" {
					out = append(out, cardCopy(ev.Text))
				}
			}
		case <-timeout:
			t.Fatalf("saw %v, waiting for %d card messages", out, n)
		}
	}
	return out
}

// TestUnmaskLiveDialogEndToEnd is the reference's five-step example over
// the real protocols: two agents, a coach (INT) and a monitor (VIP).
func TestUnmaskLiveDialogEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "[transcript-cleanup]\napply-area = always\nunmask-live-dialog = true\n", slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	customerSees := func() []string {
		t.Helper()
		resp, err := ch.Refresh(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range resp.Messages {
			if c := cardCopy(m.Text); m.Type == chatv2.TypeMessage && c != "" {
				out = append(out, c)
			}
		}
		return out
	}
	check := func(step, who string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("step %s: %s sees %v, want %v", step, who, got, want)
		}
	}
	send := func() {
		t.Helper()
		if _, err := ch.Send(ctx, "my card is "+piiCard, nil); err != nil {
			t.Fatal(err)
		}
	}
	coach := n.dial(t, "tok-bot") // an agent account joining to coach
	if _, err := coach.Join(ctx, ch.ID, wire.JoinOptions{Visibility: "INT"}); err != nil {
		t.Fatal(err)
	}
	monitor := n.dial(t, "tok-sue")
	if _, err := monitor.Join(ctx, ch.ID, wire.JoinOptions{UserType: "SUPERVISOR", Visibility: "VIP"}); err != nil {
		t.Fatal(err)
	}

	send() // 1
	check("1", "the customer", customerSees(), "masked")
	alice := n.dial(t, "tok-alice")
	if _, err := alice.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil { // 2
		t.Fatal(err)
	}
	check("2", "agent 1", cardsSeen(t, alice, 1), "masked")
	send() // 3
	check("3", "agent 1", cardsSeen(t, alice, 1), "clear")
	check("3", "the customer", customerSees(), "masked", "clear")
	bob := n.dial(t, "tok-bob")
	if err := bob.SetState(ctx, wire.StateReady, ""); err != nil { // alice invites bob to a conference
		t.Fatal(err)
	}
	if err := alice.Invite(ctx, ch.ID, "bob", "ALL"); err != nil {
		t.Fatal(err)
	}
	waitOffer(t, bob, ch.ID)
	if _, err := bob.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil { // 4
		t.Fatal(err)
	}
	check("4", "agent 2", cardsSeen(t, bob, 2), "masked", "masked")
	send() // 5
	check("5", "agent 1", cardsSeen(t, alice, 1), "clear")
	check("5", "agent 2", cardsSeen(t, bob, 1), "clear")
	check("5", "the customer", customerSees(), "masked", "clear", "clear")
	check("all", "the coach", cardsSeen(t, coach, 3), "masked", "masked", "masked")
	check("all", "the monitor", cardsSeen(t, monitor, 3), "masked", "masked", "masked")

	// The stored transcript has every number masked.
	if _, err := alice.Release(ctx, ch.ID, "FORCE_CLOSE", ""); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	var final string
	until(t, "the final transcript", func() bool {
		rec, err := st.GetInteraction(ctx, ch.ID)
		final = string(rec.Transcript)
		return err == nil && rec.Status == store.StatusClosed
	})
	if strings.Contains(final, piiCard) || strings.Count(final, piiMasked) != 3 {
		t.Fatalf("final transcript: %s", final)
	}
}

// TestTypingPreviewAndSubjectEndToEnd: with typing-preview=message the
// agent gets the customer's preview with its digits masked, and with
// clean-subject=both (apply-area history-final) the subject is masked in
// the agent's interaction list and in the stored record, while messages
// stay as sent live.
func TestTypingPreviewAndSubjectEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "[transcript-cleanup]\napply-area = history-final\ntyping-preview = message\nclean-subject = both\ndefault-repchar = #\n", slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim", Subject: "refund to " + piiCard})
	if err != nil {
		t.Fatal(err)
	}
	alice := n.dial(t, "tok-alice")
	waiting, err := alice.List(ctx, "default")
	if err != nil || len(waiting) != 1 || waiting[0].Subject != "refund to #### #### #### ####" {
		t.Fatalf("the agent's list: %+v, %v", waiting, err)
	}
	if _, err := alice.Accept(ctx, ch.ID, wire.JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.StartTyping(ctx, "my pin is 1234"); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for preview := ""; preview == ""; {
		select {
		case f := <-alice.Frames():
			for _, ev := range f.Events {
				if ev.NoticeType == "TYPING_STARTED" {
					preview = ev.Text
				}
			}
			if preview != "" && preview != "my pin is ####" {
				t.Fatalf("typing preview reached the agent as %q", preview)
			}
		case <-timeout:
			t.Fatal("no typing notice")
		}
	}
	if _, err := ch.Send(ctx, "card "+piiCard, nil); err != nil {
		t.Fatal(err)
	}
	if ev := agentSawCard(t, alice); cardCopy(ev.Text) != "clear" {
		t.Fatalf("history-final masks live traffic: %q", ev.Text)
	}
	if _, err := alice.Release(ctx, ch.ID, "FORCE_CLOSE", ""); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	var rec store.Interaction
	until(t, "the final record", func() bool {
		rec, err = st.GetInteraction(ctx, ch.ID)
		return err == nil && rec.Status == store.StatusClosed
	})
	if rec.Subject != "refund to #### #### #### ####" || strings.Contains(string(rec.Transcript), piiCard) || !strings.Contains(string(rec.Transcript), "#### #### #### ####") {
		t.Fatalf("stored record: subject %q, transcript %s", rec.Subject, rec.Transcript)
	}
}
