package push

import (
	"strings"

	"github.com/confab/confab/internal/kv"
)

// User-data keys of a push subscription (the reference's names).
const (
	KeySubscribe      = "GCTI_Chat_PushSubscribe"
	KeyDeviceID       = "GCTI_GMS_PushDeviceId"
	KeyDeviceType     = "GCTI_GMS_PushDeviceType"
	KeyNotifyRequstor = "GCTI_GMS_NotifyRequestor"
	KeyIncludePayload = "GCTI_GMS_PushIncludePayload"
	KeyResend         = "GCTI_GMS_PushResend"
	KeyProvider       = "GCTI_GMS_PushProvider"
	KeyDebug          = "GCTI_GMS_PushDebug"
	KeyNodeGroup      = "GCTI_GMS_NodeGroup"
	KeyClientChannel  = "GCTI_GMS_ClientChannel"
	// The mobile SDK's spellings of the device id and type.
	KeySDKDeviceID   = "push_notification_deviceid"
	KeySDKDeviceType = "push_notification_type"
)

// DeviceCustomHTTP is the only device type Confab delivers to.
const DeviceCustomHTTP = "customhttp"

// MaxDeviceID bounds the device id a customer may give.
const MaxDeviceID = 256

// Subscription is what a customer's user data asks for.
type Subscription struct {
	DeviceID      string `json:"deviceId"`
	Payload       bool   `json:"payload,omitempty"`
	Requestor     bool   `json:"requestor,omitempty"`
	Reliable      bool   `json:"reliable,omitempty"`
	Provider      string `json:"provider,omitempty"`
	Debug         bool   `json:"debug,omitempty"`
	ClientChannel string `json:"channel,omitempty"`
}

// ParseSubscription reads a subscription from user data. ok is false when
// the data do not subscribe (GCTI_Chat_PushSubscribe is not true), name a
// device type other than customhttp, or carry no usable device id (empty,
// longer than MaxDeviceID, or with control characters).
func ParseSubscription(ud kv.Map) (Subscription, bool) {
	if !truth(ud.String(KeySubscribe)) {
		return Subscription{}, false
	}
	t := strings.TrimSpace(ud.String(KeyDeviceType))
	if t == "" {
		t = strings.TrimSpace(ud.String(KeySDKDeviceType))
	}
	if t != "" && !strings.EqualFold(t, DeviceCustomHTTP) {
		return Subscription{}, false
	}
	id := strings.TrimSpace(ud.String(KeyDeviceID))
	if id == "" {
		id = strings.TrimSpace(ud.String(KeySDKDeviceID))
	}
	if id == "" || len(id) > MaxDeviceID || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }) {
		return Subscription{}, false
	}
	return Subscription{
		DeviceID:      id,
		Payload:       truth(ud.String(KeyIncludePayload)),
		Requestor:     truth(ud.String(KeyNotifyRequstor)),
		Reliable:      truth(ud.String(KeyResend)),
		Provider:      clip(ud.String(KeyProvider)),
		Debug:         truth(ud.String(KeyDebug)),
		ClientChannel: clip(ud.String(KeyClientChannel)),
	}, true
}

// Unsubscribes reports whether user data explicitly end a subscription
// (GCTI_Chat_PushSubscribe present and not true).
func Unsubscribes(ud kv.Map) bool {
	v, ok := ud[KeySubscribe].(string)
	return ok && !truth(v)
}

func truth(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

func clip(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "")
	if len(s) > MaxDeviceID {
		s = s[:MaxDeviceID]
	}
	return s
}

// Content is the set of identifiers flex-push-content adds to every
// notification's user data.
type Content struct {
	SessionID, UserID, AppDBID, SecureKey bool
}

// ParseContent reads flex-push-content: comma-separated names out of
// session-id, user-id, app-dbid, secure-key; unknown names are ignored
// (the configuration refuses them before they get here).
func ParseContent(raw string) Content {
	var c Content
	for f := range strings.SplitSeq(raw, ",") {
		switch strings.TrimSpace(f) {
		case "session-id":
			c.SessionID = true
		case "user-id":
			c.UserID = true
		case "app-dbid":
			c.AppDBID = true
		case "secure-key":
			c.SecureKey = true
		}
	}
	return c
}
