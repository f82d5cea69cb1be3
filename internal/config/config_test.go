package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

// warningStrings renders warnings for comparison.
func warningStrings(ws []config.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func mustParse(t *testing.T, src string) (*config.Config, []string) {
	t.Helper()
	c, ws, err := config.Parse("config.ini", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c, warningStrings(ws)
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown option", "[settings]\nflex-disconect-timeout = 300\nwhatever = 1\n", []string{
			"config.ini:2: [settings] flex-disconect-timeout: unknown option, ignored; did you mean flex-disconnect-timeout?",
			"config.ini:3: [settings] whatever: unknown option, ignored",
		}},
		{"option names are case-sensitive", "[ports]\nESP = :1\n", []string{
			"config.ini:2: [ports] ESP: unknown option, ignored; did you mean esp?",
		}},
		{"unknown section", "[setings]\na = 1\n[interaction-workspace]\nchat.on-hold-queue = q\n", []string{
			"config.ini:1: [setings]: unknown section, ignored; did you mean [settings]?",
			"config.ini:3: [interaction-workspace]: unknown section, ignored",
		}},
		{"family without argument", "[endpoints]\ndefault = q\n", []string{
			"config.ini:1: [endpoints]: unknown section, ignored; did you mean [endpoints:<tenant id>]?",
		}},
		{"repeated option", "[settings]\ntranscript-auto-save = 1\n[settings]\ntranscript-auto-save = 2\n", []string{
			"config.ini:4: [settings] transcript-auto-save: set again (first on line 2); the later value wins",
		}},
		{"any key in log-filter-data is fine", "[log-filter-data]\nTranscript = hide\nStructuredText = hide\nPhone = hide-last-4\n", nil},
		{"any key in tenants and endpoints is fine", "[tenants]\nAcme Corp = 101\n[endpoints:101]\nweb chat = Chat In\n[chat]\ndefault_chat_endpoint = Acme Corp:web chat\n", nil},
		{"unknown option in a service section", "[chat.sales]\n_chat_endpoint = 1:default\nchat_endpoint = 1:default\n", []string{
			"config.ini:3: [chat.sales] chat_endpoint: unknown option, ignored; did you mean _chat_endpoint?",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := mustParse(t, tt.src)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("warnings\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLegacyNames(t *testing.T) {
	c, ws := mustParse(t, "[settings]\ntranscript-cleanup-mask = #\ntranscript-cleanup-typing = any\ntranscript-cleanup-apply = always\nstop-abandoned-interaction = true\n")
	want := []string{
		"config.ini:2: [settings] transcript-cleanup-mask: legacy name, use [transcript-cleanup] default-repchar instead",
		"config.ini:3: [settings] transcript-cleanup-typing: legacy name, use [transcript-cleanup] typing-preview instead",
		"config.ini:4: [settings] transcript-cleanup-apply: legacy name, use [transcript-cleanup] apply-area instead",
		`config.ini:5: [settings] stop-abandoned-interaction: legacy value "true" read as "noanswer"`,
	}
	if !reflect.DeepEqual(ws, want) {
		t.Errorf("warnings\ngot  %q\nwant %q", ws, want)
	}
	if c.Cleanup.DefaultRepChar != '#' || c.Cleanup.TypingPreview != "any" || c.Cleanup.ApplyArea != "always" {
		t.Errorf("legacy values not mapped: %+v", c.Cleanup)
	}
	if c.Settings.StopAbandonedInteraction != config.StopNoAnswer {
		t.Errorf("stop-abandoned-interaction = %q, want noanswer", c.Settings.StopAbandonedInteraction)
	}

	c, _ = mustParse(t, "[settings]\nstop-abandoned-interaction = false\n")
	if c.Settings.StopAbandonedInteraction != config.StopNever {
		t.Errorf("false read as %q, want never", c.Settings.StopAbandonedInteraction)
	}

	// The current name wins, wherever it appears in the file.
	c, ws = mustParse(t, "[transcript-cleanup]\ndefault-repchar = X\n[settings]\ntranscript-cleanup-mask = #\n")
	if c.Cleanup.DefaultRepChar != 'X' {
		t.Errorf("default-repchar = %q, want X", c.Cleanup.DefaultRepChar)
	}
	if len(ws) != 2 || ws[1] != "config.ini:4: [settings] transcript-cleanup-mask: ignored: [transcript-cleanup] default-repchar is also set (line 2)" {
		t.Errorf("warnings %q", ws)
	}

	// A bad legacy value is reported under the name that was written.
	_, _, err := config.Parse("config.ini", []byte("[settings]\ntranscript-cleanup-typing = sometimes\n"))
	want1 := `config.ini:2: [settings] transcript-cleanup-typing = "sometimes": must be one of any, message, none, notice`
	if err == nil || err.Error() != want1 {
		t.Errorf("got %v, want %s", err, want1)
	}
}

func TestTenantsEndpointsServicesPorts(t *testing.T) {
	c, ws := mustParse(t, `
[tenants]
Environment = 1
Acme = 0101

[endpoints:1]
default = Chat In
webme = Webengagement_Chat

[endpoints:101]
support = Acme Support

[chat]
default_chat_endpoint = Environment:default

[chat.customer-support]
_chat_endpoint = Acme:support
_client_timeout = 600

[chat.plain]

[ports]
webapi = 0.0.0.0:8778
agent = 0.0.0.0:8778
esp = 10.0.0.1:8788

[admin]
token = s3cret=with:colons

[esp]
token = wf
`)
	if len(ws) != 0 {
		t.Errorf("unexpected warnings %q", ws)
	}
	if want := map[string]string{"Environment": "1", "Acme": "101"}; !reflect.DeepEqual(c.Tenants, want) {
		t.Errorf("Tenants = %v, want %v", c.Tenants, want)
	}
	wantEP := map[string]map[string]string{
		"1":   {"default": "Chat In", "webme": "Webengagement_Chat"},
		"101": {"support": "Acme Support"},
	}
	if !reflect.DeepEqual(c.Endpoints, wantEP) {
		t.Errorf("Endpoints = %v, want %v", c.Endpoints, wantEP)
	}
	wantSvc := map[string]config.Service{
		"customer-support": {ChatEndpoint: "Acme:support", ClientTimeout: 600 * time.Second},
		"plain":            {},
	}
	if !reflect.DeepEqual(c.Services, wantSvc) {
		t.Errorf("Services = %v, want %v", c.Services, wantSvc)
	}
	wantPorts := map[string]string{"webapi": "0.0.0.0:8778", "agent": "0.0.0.0:8778", "esp": "10.0.0.1:8788", "health": "127.0.0.1:8080"}
	if !reflect.DeepEqual(c.Ports, wantPorts) {
		t.Errorf("Ports = %v, want %v", c.Ports, wantPorts)
	}
	if c.Admin.Token != "s3cret=with:colons" || c.ESP.Token != "wf" {
		t.Errorf("tokens %q %q", c.Admin.Token, c.ESP.Token)
	}
	if got := c.ServiceEndpoint("customer-support"); got != "Acme:support" {
		t.Errorf("ServiceEndpoint(customer-support) = %q", got)
	}
	for _, name := range []string{"plain", "unknown"} {
		if got := c.ServiceEndpoint(name); got != "Environment:default" {
			t.Errorf("ServiceEndpoint(%s) = %q, want the default endpoint", name, got)
		}
	}
	if got := c.ServiceClientTimeout("customer-support"); got != 600*time.Second {
		t.Errorf("ServiceClientTimeout(customer-support) = %v", got)
	}
	if got := c.ServiceClientTimeout("plain"); got != 900*time.Second {
		t.Errorf("ServiceClientTimeout(plain) = %v, want [chat] _client_timeout", got)
	}
}

func TestSectionsReplaceBuiltIns(t *testing.T) {
	// A file with its own endpoints drops the built-in [endpoints:1]; one
	// without keeps it. Same for [tenants].
	c, _ := mustParse(t, "[endpoints:2]\nweb = q\n[chat]\ndefault_chat_endpoint = 2:web\n")
	if _, ok := c.Endpoints["1"]; ok || c.Endpoints["2"]["web"] != "q" {
		t.Errorf("Endpoints = %v", c.Endpoints)
	}
	if c.Tenants["Environment"] != "1" {
		t.Errorf("Tenants = %v, want the built-in tenant", c.Tenants)
	}
	c, _ = mustParse(t, "[tenants]\nAcme = 5\n[endpoints:1]\n")
	if _, ok := c.Tenants["Environment"]; ok {
		t.Errorf("Tenants = %v, want only Acme", c.Tenants)
	}
	if eps, ok := c.Endpoints["1"]; !ok || len(eps) != 0 {
		t.Errorf("an empty [endpoints:1] should give an empty map, got %v", c.Endpoints)
	}
	// Repeated endpoint sections merge; leading zeros name the same tenant.
	c, _ = mustParse(t, "[endpoints:1]\na = A\n[endpoints:01]\nb = B\n")
	if !reflect.DeepEqual(c.Endpoints, map[string]map[string]string{"1": {"a": "A", "b": "B"}}) {
		t.Errorf("Endpoints = %v", c.Endpoints)
	}
}

func TestBadSectionArguments(t *testing.T) {
	_, _, err := config.Parse("config.ini", []byte("[endpoints:abc]\na = b\n[endpoints:0]\n[chat.]\n[endpoints:1]\nok = q\n"))
	want := []string{
		`config.ini:1: [endpoints:abc]: section name needs a tenant id from 1 to 2147483647 after "endpoints:"`,
		`config.ini:3: [endpoints:0]: section name needs a tenant id from 1 to 2147483647 after "endpoints:"`,
		`config.ini:4: [chat.]: section name needs a service name after "chat."`,
	}
	if err == nil || !reflect.DeepEqual(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("got %v\nwant %q", err, want)
	}
}

func TestAllErrorsReported(t *testing.T) {
	src := "[settings]\nflex-disconnect-timeout = 0\ntranscript-auto-save = 9\nnot a line\n[inactivity-control]\nenabled = maybe\n"
	c, _, err := config.Parse("config.ini", []byte(src))
	if c != nil {
		t.Error("Config returned despite errors")
	}
	want := []string{
		`config.ini:2: [settings] flex-disconnect-timeout = "0": must be integer 1–1728000 (seconds)`,
		`config.ini:3: [settings] transcript-auto-save = "9": must be one of 0, 1, 2`,
		`config.ini:4: expected "name = value", a [section] header or a comment, got "not a line"`,
		`config.ini:6: [inactivity-control] enabled = "maybe": must be true or false`,
	}
	if err == nil || !reflect.DeepEqual(strings.Split(err.Error(), "\n"), want) {
		t.Fatalf("got %v\nwant %q", err, want)
	}
	var ve *config.ValueError
	if !errors.As(err, &ve) || ve.Option != "flex-disconnect-timeout" || ve.Line != 2 || ve.Value != "0" {
		t.Errorf("errors.As ValueError = %+v", ve)
	}
	var se *config.SyntaxError
	if !errors.As(err, &se) || se.Line != 4 {
		t.Errorf("errors.As SyntaxError = %+v", se)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "confab.ini")
	if err := os.WriteFile(path, []byte("[settings]\nflex-disconnect-timeout = 300\nbogus = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, ws, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Settings.FlexDisconnectTimeout != 300*time.Second {
		t.Errorf("FlexDisconnectTimeout = %v", c.Settings.FlexDisconnectTimeout)
	}
	if len(ws) != 1 || ws[0].File != path || ws[0].Line != 3 {
		t.Errorf("warnings %+v", ws)
	}

	if _, _, err := config.Load(filepath.Join(dir, "missing.ini")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}

	big := filepath.Join(dir, "big.ini")
	if err := os.WriteFile(big, make([]byte, config.MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := config.Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}
