package routing_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
)

// TestAsyncIdleStatus: the engine's async idle alert sets
// GCTI_Chat_AsyncStatus=3 and GCTI_Chat_AsyncCheckAt (when the close is
// due) on the interaction; its close takes the interaction offline.
func TestAsyncIdleStatus(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	var journals chat.Journals
	engine := chat.New(chat.Options{Clock: fake, Journal: &journals, Settings: chat.DefaultSettings})
	cfg, _, err := config.Parse("t.ini", []byte("[settings]\nasync-idle-alert = 60\nasync-idle-close = 30\n"))
	if err != nil {
		t.Fatal(err)
	}
	engine.SetTimers(chat.TimerOptions{Config: func() *config.Config { return cfg }})
	router := routing.New(routing.Options{Engine: engine, AppName: "confab-test", Clock: fake})
	journals = append(journals, router)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		router.Flush(ctx)
	})
	s, _, _, err := engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q", Async: true,
		UserData: kv.Map{chat.KeyGMSPushDeviceID: "device"},
		Creator:  chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex}})
	if err != nil {
		t.Fatal(err)
	}
	status := func() (string, string) {
		x, err := router.Get(s.ID())
		if err != nil {
			t.Fatal(err)
		}
		return x.UserData.String(routing.KeyAsyncStatus), x.UserData.String(chat.KeyAsyncCheckAt)
	}
	if st, at := status(); st != "1" || at != "" {
		t.Fatalf("new async chat: status %q, check-at %q", st, at)
	}
	fake.Advance(60 * time.Second)
	want := strconv.FormatInt(fake.Now().Add(30*time.Second).Unix(), 10)
	if st, at := status(); st != "3" || at != want {
		t.Fatalf("after the async idle alert: status %q, check-at %q; want 3, %s", st, at, want)
	}
	fake.Advance(30 * time.Second)
	if s.State() != chat.Closed {
		t.Fatal("not closed after async-idle-close")
	}
	x, _ := router.Get(s.ID())
	if x.Online {
		t.Error("interaction still online after the idle close")
	}
}

// TestAsyncDormant: a held async chat with push data survives its agent
// leaving and hours without the customer polling, and the customer's next
// message (or a qualifying notice) wakes it: GCTI_Chat_AsyncStatus 2.
func TestAsyncDormant(t *testing.T) {
	for _, wake := range []string{"message", "push URL notice"} {
		t.Run(wake, func(t *testing.T) {
			fake := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			var journals chat.Journals
			engine := chat.New(chat.Options{Clock: fake, Journal: &journals, Settings: chat.DefaultSettings})
			cfg, _, err := config.Parse("t.ini", []byte("[settings]\nflex-push-timeout = 86400\n"))
			if err != nil {
				t.Fatal(err)
			}
			engine.SetTimers(chat.TimerOptions{Config: func() *config.Config { return cfg }})
			router := routing.New(routing.Options{Engine: engine, AppName: "confab-test", Clock: fake})
			journals = append(journals, router)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				router.Flush(ctx)
			})
			s, c, _, err := engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q", Async: true,
				UserData: kv.Map{chat.KeyPushDeviceID: "device", chat.KeyPushType: "customhttp"},
				Creator:  chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex}})
			if err != nil {
				t.Fatal(err)
			}
			a, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
			if err != nil {
				t.Fatal(err)
			}
			if err := router.PlaceOnHold(s.ID()); err != nil {
				t.Fatal(err)
			}
			if _, closed, err := s.Leave(chat.LeaveRequest{UserID: a.UserID}); err != nil || closed {
				t.Fatalf("agent leave: closed %v, %v", closed, err)
			}
			fake.Advance(6 * time.Hour)
			if s.State() != chat.Alive {
				t.Fatal("the dormant chat closed")
			}
			if p, _ := s.Participant(c.UserID); p.Left {
				t.Fatal("the dormant customer was removed")
			}
			if x, _ := router.Get(s.ID()); x.UserData.String(routing.KeyAsyncStatus) != "-2" {
				t.Fatalf("status %q while dormant, want -2", x.UserData.String(routing.KeyAsyncStatus))
			}
			if wake == "message" {
				_, err = s.Send(c.UserID, chat.Msg{Text: "I'm back"})
			} else {
				_, err = s.Notify(c.UserID, chat.Note{Type: chat.PushURL, Text: "https://example.com/order"})
			}
			if err != nil {
				t.Fatal(err)
			}
			if x, _ := router.Get(s.ID()); x.UserData.String(routing.KeyAsyncStatus) != "2" {
				t.Fatalf("status %q after the customer's %s, want 2", x.UserData.String(routing.KeyAsyncStatus), wake)
			}
		})
	}
}
