package cometd_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/chat"
)

// join adds an agent to s.
func join(t *testing.T, s *chat.Session) chat.Participant {
	t.Helper()
	a, rc, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic})
	if err != nil {
		t.Fatal(err)
	}
	rc.Wait(context.Background())
	return a
}

// say sends a message from p.
func say(t *testing.T, s *chat.Session, p chat.Participant, text string) {
	t.Helper()
	rc, err := s.Send(p.UserID, chat.Msg{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	rc.Wait(context.Background())
}

type (
	webapiCall  = webapi.Call
	webapiField = webapi.Field
)

func itoa(n int) string { return strconv.Itoa(n) }

func webapiOptions(backlog int) webapi.Options { return webapi.Options{MaxBacklog: backlog} }
