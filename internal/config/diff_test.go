package config_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

func TestDiff(t *testing.T) {
	old, _ := mustParse(t, `
[settings]
flex-disconnect-timeout = 45
[tenants]
Environment = 1
Gone = 9
[endpoints:1]
default = Chat In
[chat.sales]
_chat_endpoint = 1:default
[ports]
webapi = :8778
[admin]
token = old-secret
`)
	next, _ := mustParse(t, `
[settings]
flex-disconnect-timeout = 300
[tenants]
Environment = 1
Acme = 101
[endpoints:1]
default = Chat In
webme = Web
[chat.sales]
_chat_endpoint = 1:webme
_client_timeout = 60
[ports]
webapi = :9000
[admin]
token = new-secret
`)
	want := []config.Change{
		{Section: "admin", Option: "token", Old: "old-secret", New: "new-secret", RestartRequired: true, Secret: true},
		{Section: "chat.sales", Option: "_chat_endpoint", Old: "1:default", New: "1:webme"},
		{Section: "chat.sales", Option: "_client_timeout", Old: "", New: "60", RestartRequired: true},
		{Section: "endpoints:1", Option: "webme", Old: "", New: "Web"},
		{Section: "ports", Option: "webapi", Old: ":8778", New: ":9000", RestartRequired: true},
		{Section: "settings", Option: "flex-disconnect-timeout", Old: "45", New: "300"},
		{Section: "tenants", Option: "Acme", Old: "", New: "101"},
		{Section: "tenants", Option: "Gone", Old: "9", New: ""},
	}
	got := config.Diff(old, next)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff\ngot  %+v\nwant %+v", got, want)
	}
	if d := config.Diff(next, next); len(d) != 0 {
		t.Errorf("Diff of a config with itself = %+v", d)
	}
	if d := config.Diff(config.Default(), config.Default()); len(d) != 0 {
		t.Errorf("Diff of two defaults = %+v", d)
	}
}

func TestChangeString(t *testing.T) {
	tests := []struct {
		ch   config.Change
		want string
	}{
		{config.Change{Section: "settings", Option: "flex-disconnect-timeout", Old: "45", New: "300"},
			"config: [settings] flex-disconnect-timeout changed from 45 to 300"},
		{config.Change{Section: "ports", Option: "webapi", Old: ":8778", New: ":9000", RestartRequired: true},
			"config: [ports] webapi changed from :8778 to :9000; restart required, :8778 stays in effect until then"},
		{config.Change{Section: "inactivity-control", Option: "message-close", Old: "Bye now", New: ""},
			`config: [inactivity-control] message-close changed from "Bye now" to ""`},
		{config.Change{Section: "admin", Option: "token", Old: "a", New: "b", RestartRequired: true, Secret: true},
			"config: [admin] token changed from (hidden) to (hidden); restart required, (hidden) stays in effect until then"},
	}
	for _, tt := range tests {
		if got := tt.ch.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestReconcile(t *testing.T) {
	old, _ := mustParse(t, "[settings]\nflex-disconnect-timeout = 45\n[ports]\nwebapi = :8778\n[chat]\nenable_notification_mode = false\n[chat.sales]\n_client_timeout = 30\n")
	next, _ := mustParse(t, "[settings]\nflex-disconnect-timeout = 300\n[ports]\nwebapi = :9000\n[chat]\nenable_notification_mode = true\n[chat.support]\n_client_timeout = 20\n")
	oldCopy, nextCopy := config.Diff(config.Default(), old), config.Diff(config.Default(), next)

	active, changes := config.Reconcile(old, next)

	// Immediate options take the new value, restart options keep the old.
	if active.Settings.FlexDisconnectTimeout != 300*time.Second {
		t.Errorf("immediate option not applied: %v", active.Settings.FlexDisconnectTimeout)
	}
	if active.Ports["webapi"] != ":8778" || active.Chat.EnableNotificationMode {
		t.Errorf("restart options changed: webapi %q, enable_notification_mode %v", active.Ports["webapi"], active.Chat.EnableNotificationMode)
	}
	// Per-service restart options: the old value is kept where it was set,
	// and a new one is not applied yet.
	if active.Services["sales"].ClientTimeout != 30*time.Second {
		t.Errorf("sales _client_timeout = %v, want the old 30s", active.Services["sales"].ClientTimeout)
	}
	if active.Services["support"].ClientTimeout != 0 {
		t.Errorf("support _client_timeout = %v, want unset until restart", active.Services["support"].ClientTimeout)
	}
	// Every change is reported, restart ones marked.
	restart := map[string]bool{}
	for _, ch := range changes {
		restart[ch.Section+"/"+ch.Option] = ch.RestartRequired
	}
	wantRestart := map[string]bool{
		"settings/flex-disconnect-timeout": false,
		"ports/webapi":                     true,
		"chat/enable_notification_mode":    true,
		"chat.sales/_client_timeout":       true,
		"chat.support/_client_timeout":     true,
	}
	if !reflect.DeepEqual(restart, wantRestart) {
		t.Errorf("changes %v, want %v", restart, wantRestart)
	}
	// The remaining difference between active and next is exactly the
	// restart-only options.
	for _, ch := range config.Diff(active, next) {
		if !ch.RestartRequired {
			t.Errorf("active differs from next in immediate option %+v", ch)
		}
	}
	// Neither input was modified.
	if !reflect.DeepEqual(oldCopy, config.Diff(config.Default(), old)) || !reflect.DeepEqual(nextCopy, config.Diff(config.Default(), next)) {
		t.Error("Reconcile modified its arguments")
	}
	if active == next {
		t.Error("Reconcile returned next although restart options changed")
	}

	// Without restart changes, next itself is returned.
	only, _ := mustParse(t, "[settings]\nflex-disconnect-timeout = 99\n")
	if got, _ := config.Reconcile(config.Default(), only); got != only {
		t.Error("Reconcile copied next although nothing needed a restart")
	}
}
