package chat_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
)

// BenchmarkSessionHeap measures what the engine keeps per open session of
// the dense scenario's shape: a customer with user data, an agent joined,
// ten idempotent messages each way and the customer's typing notices. It
// reports the live heap and the heap objects per session after a full GC,
// with 2,000 sessions open (the figure the GC marks on every cycle while a
// server holds its sessions).
func BenchmarkSessionHeap(b *testing.B) {
	const sessions = 2000
	var bytesPer, objectsPer float64
	for b.Loop() {
		st := chat.DefaultSettings
		st.SessionLimit = sessions
		e := chat.New(chat.Options{Clock: clock.NewFake(t0), Settings: st})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		held := make([]*chat.Session, 0, sessions)
		for i := 0; i < sessions; i++ {
			s, client, _, err := e.Create(chat.CreateRequest{
				Tenant: "1", Endpoint: "default", Queue: "default",
				UserData: kv.Map{"EmailAddress": "jdoe@example.com", "FirstName": "John"},
				Creator:  chat.JoinRequest{Nick: "John", Type: chat.Client, Protocol: chat.Flex},
			})
			if err != nil {
				b.Fatal(err)
			}
			agent, _, err := s.Join(chat.JoinRequest{Nick: "Anna", Type: chat.Agent, Protocol: chat.Basic, PersonID: "agent" + strconv.Itoa(i%50)})
			if err != nil {
				b.Fatal(err)
			}
			for m := 0; m < 10; m++ {
				id := strconv.Itoa(m)
				if _, err := s.Send(client.UserID, chat.Msg{Text: "customer message " + id, ClientMsgID: "c" + id}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Send(agent.UserID, chat.Msg{Text: "agent answer " + id, ClientMsgID: "a" + id}); err != nil {
					b.Fatal(err)
				}
			}
			held = append(held, s)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bytesPer = float64(after.HeapAlloc-before.HeapAlloc) / sessions
		objectsPer = float64(after.HeapObjects-before.HeapObjects) / sessions
		runtime.KeepAlive(held)
		runtime.KeepAlive(e)
	}
	b.ReportMetric(bytesPer, "live-B/session")
	b.ReportMetric(objectsPer, "objects/session")
}
