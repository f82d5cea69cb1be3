package chat_test

import (
	"fmt"
	"testing"

	"github.com/confab/confab/internal/chat"
)

// TestReadN checks the bounded read: at most max visible events, and a
// next position from which reading on neither skips nor repeats one, with
// hidden events in between.
func TestReadN(t *testing.T) {
	e := chat.New(chat.Options{})
	s, cust, _, err := e.Create(chat.CreateRequest{Creator: chat.JoinRequest{Nick: "c", Type: chat.Client}})
	if err != nil {
		t.Fatal(err)
	}
	agent, _, _ := s.Join(chat.JoinRequest{Nick: "a", Type: chat.Agent})
	for i := 0; i < 6; i++ {
		s.Send(agent.UserID, chat.Msg{Text: fmt.Sprint("all", i)})
		s.Send(agent.UserID, chat.Msg{Text: fmt.Sprint("int", i), Visibility: chat.VisInt})
	}
	all, length, _, _ := s.Read(cust.UserID, 0, nil)
	for _, max := range []int{0, 1, 2, 3, 7, 100} {
		t.Run(fmt.Sprint("max ", max), func(t *testing.T) {
			var got []chat.Event
			pos := 0
			for reads := 0; reads < 20; reads++ {
				evs, next, _, err := s.ReadN(cust.UserID, pos, max, nil)
				if err != nil {
					t.Fatal(err)
				}
				if max > 0 && len(evs) > max {
					t.Fatalf("%d events, max %d", len(evs), max)
				}
				got = append(got, evs...)
				if len(evs) == 0 {
					if next != length {
						t.Fatalf("an empty read ends at %d, want %d", next, length)
					}
					break
				}
				pos = next
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(ids(all)) {
				t.Fatalf("read %v, want %v", ids(got), ids(all))
			}
		})
	}
	if _, _, _, err := s.ReadN("nobody", 0, 1, nil); err == nil {
		t.Fatal("a stranger could read")
	}
}

func ids(evs []chat.Event) []int {
	out := make([]int, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID()
	}
	return out
}
