package push_test

import (
	"strings"
	"testing"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/push"
)

// FuzzSubscription decodes arbitrary user data (as the customer sends it,
// JSON) and reads a push subscription from it: it must never panic, and a
// subscription it accepts has a bounded, printable device id and flags
// that say exactly what the keys say.
func FuzzSubscription(f *testing.F) {
	f.Add(`{"GCTI_Chat_PushSubscribe":"true","GCTI_GMS_PushDeviceId":"d1","GCTI_GMS_PushDeviceType":"customhttp","GCTI_GMS_PushResend":"true"}`)
	f.Fuzz(func(t *testing.T, data string) {
		ud, err := kv.FromJSON([]byte(data))
		if err != nil {
			return
		}
		sb, ok := push.ParseSubscription(ud)
		if !ok {
			return
		}
		if sb.DeviceID == "" || len(sb.DeviceID) > push.MaxDeviceID || strings.ContainsAny(sb.DeviceID, "\x00\r\n") {
			t.Fatalf("accepted device id %q", sb.DeviceID)
		}
		if !strings.EqualFold(strings.TrimSpace(ud.String(push.KeySubscribe)), "true") {
			t.Fatalf("subscribed without %s=true: %v", push.KeySubscribe, ud)
		}
		if sb.Reliable != strings.EqualFold(strings.TrimSpace(ud.String(push.KeyResend)), "true") {
			t.Fatalf("Reliable %v for %q", sb.Reliable, ud.String(push.KeyResend))
		}
		if push.Unsubscribes(ud) {
			t.Fatal("both subscribes and unsubscribes")
		}
	})
}

// FuzzContent parses flex-push-content values.
func FuzzContent(f *testing.F) {
	f.Add("session-id,user-id")
	f.Fuzz(func(t *testing.T, raw string) {
		c := push.ParseContent(raw)
		if c.SecureKey && !strings.Contains(raw, "secure-key") {
			t.Fatalf("secure-key from %q", raw)
		}
		if c.AppDBID && !strings.Contains(raw, "app-dbid") {
			t.Fatalf("app-dbid from %q", raw)
		}
	})
}
