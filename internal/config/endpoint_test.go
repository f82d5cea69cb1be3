package config_test

import (
	"reflect"
	"testing"
)

func TestResolveEndpoint(t *testing.T) {
	c, _ := mustParse(t, `
[tenants]
Environment = 1
Acme = 101
Ghost = 7
[endpoints:1]
default = Chat In
webme = Webengagement_Chat
[endpoints:101]
support = Acme Support
`)
	tests := []struct {
		in                      string
		tenant, endpoint, queue string
		err                     string
	}{
		{in: "Environment:default", tenant: "1", endpoint: "default", queue: "Chat In"},
		{in: "1:webme", tenant: "1", endpoint: "webme", queue: "Webengagement_Chat"},
		{in: "Acme:support", tenant: "101", endpoint: "support", queue: "Acme Support"},
		{in: "101:support", tenant: "101", endpoint: "support", queue: "Acme Support"},
		{in: "0101:support", tenant: "101", endpoint: "support", queue: "Acme Support"},
		{in: "default", err: `config: endpoint "default": want <tenant name or id>:<endpoint name>`},
		{in: ":default", err: `config: endpoint ":default": want <tenant name or id>:<endpoint name>`},
		{in: "Environment:", err: `config: endpoint "Environment:": want <tenant name or id>:<endpoint name>`},
		{in: "Nobody:default", err: `config: endpoint "Nobody:default": tenant "Nobody" is neither a numeric id nor a name in [tenants]`},
		{in: "environment:default", err: `config: endpoint "environment:default": tenant "environment" is neither a numeric id nor a name in [tenants]`},
		{in: "Ghost:default", err: `config: endpoint "Ghost:default": no [endpoints:7] section for tenant Ghost`},
		{in: "5:default", err: `config: endpoint "5:default": no [endpoints:5] section for tenant 5`},
		{in: "Acme:default", err: `config: endpoint "Acme:default": no endpoint "default" in [endpoints:101]`},
	}
	for _, tt := range tests {
		tenant, endpoint, queue, err := c.ResolveEndpoint(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ResolveEndpoint(%q) error = %v, want %s", tt.in, err, tt.err)
			}
			if tenant != "" || endpoint != "" || queue != "" {
				t.Errorf("ResolveEndpoint(%q) returned values with an error", tt.in)
			}
			continue
		}
		if err != nil || tenant != tt.tenant || endpoint != tt.endpoint || queue != tt.queue {
			t.Errorf("ResolveEndpoint(%q) = %q, %q, %q, %v; want %q, %q, %q",
				tt.in, tenant, endpoint, queue, err, tt.tenant, tt.endpoint, tt.queue)
		}
	}
}

func TestValidateWarnings(t *testing.T) {
	_, ws := mustParse(t, `
[tenants]
Acme = 101
[endpoints:101]
support = q
[chat]
default_chat_endpoint = Environment:default
[chat.ok]
_chat_endpoint = Acme:support
[chat.broken]
_chat_endpoint = Acme:sales
[settings]
limit-for-sessions = 2000
session-restoration-mode = simple
transcript-auto-save = 0
[client-file-transfer]
upload-max-file-size = 10
upload-max-total-size = 5
`)
	want := []string{
		`config.ini: [chat] default_chat_endpoint: "Environment:default" does not resolve: tenant "Environment" is neither a numeric id nor a name in [tenants]`,
		`config.ini: [chat.broken] _chat_endpoint: "Acme:sales" does not resolve: no endpoint "sales" in [endpoints:101]`,
		"config.ini: [settings] limit-for-sessions: is 2000, above limit-for-flex-users 1001; the smaller limit is reached first",
		"config.ini: [settings] session-restoration-mode: with transcript-auto-save 0 only a graceful shutdown stores the live sessions; after a crash they cannot be restored",
		"config.ini: [client-file-transfer] upload-max-file-size: is 10, above upload-max-total-size 5; no file can be larger than the total",
	}
	if !reflect.DeepEqual(ws, want) {
		t.Errorf("warnings\ngot  %q\nwant %q", ws, want)
	}

	// The defaults are consistent.
	if _, ws := mustParse(t, ""); len(ws) != 0 {
		t.Errorf("defaults produce warnings %q", ws)
	}
}
