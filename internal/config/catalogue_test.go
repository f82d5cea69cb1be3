package config_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/config"
)

// fields reads every fixed option's typed field from a Config. It is the
// drift check between the catalogue's Default strings and the struct: a
// field bound to the wrong option, or a default changed in one place only,
// fails TestDefaults.
var fields = map[string]func(c *config.Config) any{
	"settings/async-idle-alert":           func(c *config.Config) any { return c.Settings.AsyncIdleAlert },
	"settings/async-idle-close":           func(c *config.Config) any { return c.Settings.AsyncIdleClose },
	"settings/async-idle-notices":         func(c *config.Config) any { return c.Settings.AsyncIdleNotices },
	"settings/attach-session-statistics":  func(c *config.Config) any { return c.Settings.AttachSessionStatistics },
	"settings/attach-stats-rep-events":    func(c *config.Config) any { return c.Settings.AttachStatsRepEvents },
	"settings/attach-stats-rep-place":     func(c *config.Config) any { return c.Settings.AttachStatsRepPlace },
	"settings/flex-disconnect-timeout":    func(c *config.Config) any { return c.Settings.FlexDisconnectTimeout },
	"settings/flex-push-on-join":          func(c *config.Config) any { return c.Settings.FlexPushOnJoin },
	"settings/flex-push-enabled":          func(c *config.Config) any { return c.Settings.FlexPushEnabled },
	"settings/flex-push-timeout":          func(c *config.Config) any { return c.Settings.FlexPushTimeout },
	"settings/flex-push-content":          func(c *config.Config) any { return c.Settings.FlexPushContent },
	"settings/flex-push-resend-attempts":  func(c *config.Config) any { return c.Settings.FlexPushResendAttempts },
	"settings/flex-push-resend-delay":     func(c *config.Config) any { return c.Settings.FlexPushResendDelay },
	"settings/ixn-submittedby-name":       func(c *config.Config) any { return c.Settings.IxnSubmittedByName },
	"settings/limits-control-enabled":     func(c *config.Config) any { return c.Settings.LimitsControlEnabled },
	"settings/limit-average-interval":     func(c *config.Config) any { return c.Settings.LimitAverageInterval },
	"settings/limit-for-flex-users":       func(c *config.Config) any { return c.Settings.LimitForFlexUsers },
	"settings/limit-for-sessions":         func(c *config.Config) any { return c.Settings.LimitForSessions },
	"settings/limit-for-reply-delay":      func(c *config.Config) any { return c.Settings.LimitForReplyDelay },
	"settings/limits-reached-report-scs":  func(c *config.Config) any { return c.Settings.LimitsReachedReportSCS },
	"settings/limits-restore-threshold":   func(c *config.Config) any { return c.Settings.LimitsRestoreThreshold },
	"settings/session-restoration-mode":   func(c *config.Config) any { return c.Settings.SessionRestorationMode },
	"settings/session-restore-do-purge":   func(c *config.Config) any { return c.Settings.SessionRestoreDoPurge },
	"settings/session-restore-extend-by":  func(c *config.Config) any { return c.Settings.SessionRestoreExtendBy },
	"settings/session-restore-push-send":  func(c *config.Config) any { return c.Settings.SessionRestorePushSend },
	"settings/session-password-enforce":   func(c *config.Config) any { return c.Settings.SessionPasswordEnforce },
	"settings/stop-abandoned-interaction": func(c *config.Config) any { return c.Settings.StopAbandonedInteraction },
	"settings/transcript-auto-save":       func(c *config.Config) any { return c.Settings.TranscriptAutoSave },
	"settings/transcript-save-on-error":   func(c *config.Config) any { return c.Settings.TranscriptSaveOnError },
	"settings/transcript-resend-attempts": func(c *config.Config) any { return c.Settings.TranscriptResendAttempts },
	"settings/transcript-resend-delay":    func(c *config.Config) any { return c.Settings.TranscriptResendDelay },
	"settings/transcript-save-notices":    func(c *config.Config) any { return c.Settings.TranscriptSaveNotices },
	"settings/user-register-timeout":      func(c *config.Config) any { return c.Settings.UserRegisterTimeout },
	"settings/xml-request-max-size":       func(c *config.Config) any { return c.Settings.XMLRequestMaxSize },
	"settings/message-log-print-size":     func(c *config.Config) any { return c.Settings.MessageLogPrintSize },
	"settings/hide-attached-data":         func(c *config.Config) any { return c.Settings.HideAttachedData },
	"settings/allow-duplicated-kvp":       func(c *config.Config) any { return c.Settings.AllowDuplicatedKVP },
	"settings/connection-down-report-scs": func(c *config.Config) any { return c.Settings.ConnectionDownReportSCS },
	"settings/closed-session-grace":       func(c *config.Config) any { return c.Settings.ClosedSessionGrace },

	"inactivity-control/enabled":         func(c *config.Config) any { return c.Inactivity.Enabled },
	"inactivity-control/include-notices": func(c *config.Config) any { return c.Inactivity.IncludeNotices },
	"inactivity-control/message-alert":   func(c *config.Config) any { return c.Inactivity.MessageAlert },
	"inactivity-control/message-alert2":  func(c *config.Config) any { return c.Inactivity.MessageAlert2 },
	"inactivity-control/message-close":   func(c *config.Config) any { return c.Inactivity.MessageClose },
	"inactivity-control/timeout-alert":   func(c *config.Config) any { return c.Inactivity.TimeoutAlert },
	"inactivity-control/timeout-alert2":  func(c *config.Config) any { return c.Inactivity.TimeoutAlert2 },
	"inactivity-control/timeout-close":   func(c *config.Config) any { return c.Inactivity.TimeoutClose },

	"transcript-cleanup/allow-bot-unmask":   func(c *config.Config) any { return c.Cleanup.AllowBotUnmask },
	"transcript-cleanup/apply-area":         func(c *config.Config) any { return c.Cleanup.ApplyArea },
	"transcript-cleanup/apply-config":       func(c *config.Config) any { return c.Cleanup.ApplyConfig },
	"transcript-cleanup/clean-subject":      func(c *config.Config) any { return c.Cleanup.CleanSubject },
	"transcript-cleanup/default-repchar":    func(c *config.Config) any { return c.Cleanup.DefaultRepChar },
	"transcript-cleanup/typing-preview":     func(c *config.Config) any { return c.Cleanup.TypingPreview },
	"transcript-cleanup/default-spec":       func(c *config.Config) any { return c.Cleanup.DefaultSpec },
	"transcript-cleanup/unmask-live-dialog": func(c *config.Config) any { return c.Cleanup.UnmaskLiveDialog },

	"client-file-transfer/upload-max-files":      func(c *config.Config) any { return c.FileTransfer.UploadMaxFiles },
	"client-file-transfer/upload-max-file-size":  func(c *config.Config) any { return c.FileTransfer.UploadMaxFileSize },
	"client-file-transfer/upload-max-total-size": func(c *config.Config) any { return c.FileTransfer.UploadMaxTotalSize },
	"client-file-transfer/upload-file-types":     func(c *config.Config) any { return c.FileTransfer.UploadFileTypes },
	"client-file-transfer/upload-need-agent":     func(c *config.Config) any { return c.FileTransfer.UploadNeedAgent },
	"client-file-transfer/download-attempts":     func(c *config.Config) any { return c.FileTransfer.DownloadAttempts },

	"documents/agent-upload-max-size": func(c *config.Config) any { return c.Documents.AgentUploadMaxSize },
	"documents/retention":             func(c *config.Config) any { return c.Documents.Retention },
	"push/customhttp.url":             func(c *config.Config) any { return c.Push.CustomHTTPURL },
	"push/pushEnabled":                func(c *config.Config) any { return c.Push.Enabled },
	"push/delivery-attempts":          func(c *config.Config) any { return c.Push.DeliveryAttempts },
	"push/delivery-backoff":           func(c *config.Config) any { return c.Push.DeliveryBackoff },
	"push/delivery-timeout":           func(c *config.Config) any { return c.Push.DeliveryTimeout },
	"push/queue-size":                 func(c *config.Config) any { return c.Push.QueueSize },

	"health-service/log-output-timeout": func(c *config.Config) any { return c.Health.LogOutputTimeout },
	"health-service/log-output-proviso": func(c *config.Config) any { return c.Health.LogOutputProviso },
	"health-service/log-output-content": func(c *config.Config) any { return c.Health.LogOutputContent },
	"log/all":                           func(c *config.Config) any { return c.Log.All },
	"log/standard":                      func(c *config.Config) any { return c.Log.Standard },
	"log/trace":                         func(c *config.Config) any { return c.Log.Trace },
	"log/debug":                         func(c *config.Config) any { return c.Log.Debug },
	"log/segment":                       func(c *config.Config) any { return c.Log.Segment },
	"log/expire":                        func(c *config.Config) any { return c.Log.Expire },
	"log/buffering":                     func(c *config.Config) any { return c.Log.Buffering },
	"log/time-format":                   func(c *config.Config) any { return c.Log.TimeFormat },
	"log/time-convert":                  func(c *config.Config) any { return c.Log.TimeConvert },
	"log/messagefile":                   func(c *config.Config) any { return c.Log.MessageFile },

	"log-filter-data/default-filter-type":   func(c *config.Config) any { return c.LogFilter.DefaultFilterType },
	"log-filter-data/string-max-print-size": func(c *config.Config) any { return c.LogFilter.StringMaxPrintSize },

	"log/verbose": func(c *config.Config) any { return c.Log.Verbose },

	"cors/allowed-origins": func(c *config.Config) any { return c.CORS.AllowedOrigins },

	"chat/default_chat_endpoint":        func(c *config.Config) any { return c.Chat.DefaultChatEndpoint },
	"chat/chat_session_request_timeout": func(c *config.Config) any { return c.Chat.ChatSessionRequestTimeout },
	"chat/enable_notification_mode":     func(c *config.Config) any { return c.Chat.EnableNotificationMode },
	"chat/_client_timeout":              func(c *config.Config) any { return c.Chat.ClientTimeout },

	"ports/webapi": func(c *config.Config) any { return c.Ports[config.PortWebAPI] },
	"ports/agent":  func(c *config.Config) any { return c.Ports[config.PortAgent] },
	"ports/esp":    func(c *config.Config) any { return c.Ports[config.PortESP] },
	"ports/health": func(c *config.Config) any { return c.Ports[config.PortHealth] },

	"admin/token":                             func(c *config.Config) any { return c.Admin.Token },
	"esp/token":                               func(c *config.Config) any { return c.ESP.Token },
	"protection/allow-any-service":            func(c *config.Config) any { return c.Protection.AllowAnyService },
	"store/driver":                            func(c *config.Config) any { return c.Store.Driver },
	"store/dsn":                               func(c *config.Config) any { return c.Store.DSN },
	"protection/session-max-messages":         func(c *config.Config) any { return c.Protection.SessionMaxMessages },
	"protection/session-max-transcript-bytes": func(c *config.Config) any { return c.Protection.SessionMaxBytes },
	"protection/party-send-rate":              func(c *config.Config) any { return c.Protection.PartySendRate },
	"protection/party-send-burst":             func(c *config.Config) any { return c.Protection.PartySendBurst },
	"protection/chat-create-rate":             func(c *config.Config) any { return c.Protection.ChatCreateRate },
	"protection/chat-create-burst":            func(c *config.Config) any { return c.Protection.ChatCreateBurst },
	"protection/trusted-proxies":              func(c *config.Config) any { return c.Protection.TrustedProxies },
	"protection/push-connections-per-party":   func(c *config.Config) any { return c.Protection.PushPerParty },
	"protection/push-connect-rate":            func(c *config.Config) any { return c.Protection.PushConnectRate },
	"protection/cometd-handshake-rate":        func(c *config.Config) any { return c.Protection.CometdHandshakeRate },
	"protection/cometd-handshake-burst":       func(c *config.Config) any { return c.Protection.CometdHandshakeBurst },
	"protection/cometd-clients-per-address":   func(c *config.Config) any { return c.Protection.CometdClientsPerAddr },
	"protection/header-timeout":               func(c *config.Config) any { return c.Protection.HeaderTimeout },
	"protection/body-timeout":                 func(c *config.Config) any { return c.Protection.BodyTimeout },
	"protection/body-min-rate":                func(c *config.Config) any { return c.Protection.BodyMinRate },
	"protection/write-timeout":                func(c *config.Config) any { return c.Protection.WriteTimeout },
	"protection/idle-timeout":                 func(c *config.Config) any { return c.Protection.IdleTimeout },
	"protection/max-header-bytes":             func(c *config.Config) any { return c.Protection.MaxHeaderBytes },
	"protection/contact-attributes":           func(c *config.Config) any { return c.Protection.ContactAttributes },
	"cluster/lease":                           func(c *config.Config) any { return c.Cluster.Lease },

	"routing/offer-timeout":      func(c *config.Config) any { return c.Routing.OfferTimeout },
	"routing/last-agent-timeout": func(c *config.Config) any { return c.Routing.LastAgentTimeout },
}

// fixed reports whether o is a single option of a plain section (not a
// family of sections, not "any key").
func fixed(o config.Option) bool {
	return !o.Keyed() && !strings.Contains(o.Section, "<")
}

// render formats a typed field value the way the catalogue writes it.
func render(k config.Kind, v any) string {
	switch v := v.(type) {
	case time.Duration:
		if k == config.KindMillis {
			return strconv.FormatInt(v.Milliseconds(), 10)
		}
		return strconv.FormatInt(int64(v/time.Second), 10)
	case rune:
		return string(v)
	}
	return fmt.Sprint(v)
}

func TestDefaults(t *testing.T) {
	def := config.Default()
	seen := map[string]bool{}
	for _, o := range config.Options() {
		if !fixed(o) {
			continue
		}
		key := o.Section + "/" + o.Name
		seen[key] = true
		get, ok := fields[key]
		if !ok {
			t.Errorf("[%s] %s: no entry in the fields table of this test", o.Section, o.Name)
			continue
		}
		if got := render(o.Kind, get(def)); got != o.Default {
			t.Errorf("[%s] %s: Default() holds %q, catalogue says %q", o.Section, o.Name, got, o.Default)
		}
	}
	for key := range fields {
		if !seen[key] {
			t.Errorf("fields table has %s, which is not in the catalogue", key)
		}
	}

	// The keyed and per-service defaults.
	if want := map[string]string{"Environment": "1"}; !mapsEqual(def.Tenants, want) {
		t.Errorf("Tenants = %v, want %v", def.Tenants, want)
	}
	if got := def.Endpoints["1"]; len(def.Endpoints) != 1 || !mapsEqual(got, map[string]string{"default": "default"}) {
		t.Errorf("Endpoints = %v, want map[1:map[default:default]]", def.Endpoints)
	}
	if len(def.Services) != 0 || len(def.LogFilter.Keys) != 0 {
		t.Errorf("Services = %v, LogFilter.Keys = %v, want both empty", def.Services, def.LogFilter.Keys)
	}
	// A few spelled out in Go terms, in case render and the catalogue agree
	// on something wrong.
	if def.Settings.FlexDisconnectTimeout != 45*time.Second ||
		def.Settings.StopAbandonedInteraction != config.StopNever ||
		def.Chat.ChatSessionRequestTimeout != 30*time.Second ||
		def.Cleanup.DefaultRepChar != '*' ||
		def.Settings.ClosedSessionGrace != time.Minute ||
		def.Chat.DefaultChatEndpoint != "Environment:default" {
		t.Errorf("spot check of defaults failed: %+v %+v", def.Settings, def.Chat)
	}
	// Default returns a fresh value each time.
	if config.Default() == def {
		t.Error("Default returned the same pointer twice")
	}
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOptionsCatalogue(t *testing.T) {
	opts := config.Options()
	if !slices.IsSortedFunc(opts, func(a, b config.Option) int {
		if c := strings.Compare(a.Section, b.Section); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}) {
		t.Error("Options is not sorted by section and name")
	}
	seen := map[string]bool{}
	for _, o := range opts {
		key := o.Section + "/" + o.Name
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		if o.Doc == "" || o.Range == "" || o.Kind == 0 || (o.Effect != config.Immediate && o.Effect != config.Restart) {
			t.Errorf("%s is incomplete: %+v", key, o)
		}
		if strings.HasPrefix(o.Kind.String(), "Kind(") {
			t.Errorf("%s: kind %d has no name", key, o.Kind)
		}
		if strings.Contains(o.Doc, "\n") {
			t.Errorf("%s: Doc is not one line", key)
		}
		if (o.Kind == config.KindInt || o.Kind == config.KindSeconds || o.Kind == config.KindMillis) && o.Min > o.Max {
			t.Errorf("%s: Min %d > Max %d", key, o.Min, o.Max)
		}
	}
	// The catalogue cannot be changed through the copy.
	opts[0].Name = "changed"
	for i := range opts {
		opts[i].Values = append(opts[i].Values[:0:0], "x")
	}
	if config.Options()[0].Name == "changed" {
		t.Error("Options exposes the catalogue")
	}
	// Required sections are all there.
	for _, sec := range []string{"settings", "inactivity-control", "transcript-cleanup", "client-file-transfer",
		"health-service", "log-filter-data", "log", "chat", "chat.<service>", "tenants",
		"endpoints:<tenant id>", "ports", "admin", "esp"} {
		if !slices.ContainsFunc(opts, func(o config.Option) bool { return o.Section == sec }) {
			t.Errorf("no options for section [%s]", sec)
		}
	}
}

func TestImplemented(t *testing.T) {
	want := []string{
		"admin/token",
		"chat.<service>/_chat_endpoint",
		"chat/default_chat_endpoint",
		"cors/allowed-origins",
		"endpoints:<tenant id>/<endpoint name>",
		"esp/token",
		"protection/allow-any-service",
		"inactivity-control/enabled", "inactivity-control/include-notices", "inactivity-control/message-alert",
		"inactivity-control/message-alert2", "inactivity-control/message-close", "inactivity-control/timeout-alert",
		"inactivity-control/timeout-alert2", "inactivity-control/timeout-close",
		"language:<name>/country", "language:<name>/language", "language:<name>/message-alert",
		"language:<name>/message-alert2", "language:<name>/message-close", "language:<name>/use-language-as-default",
		"chat/_client_timeout", "chat.<service>/_client_timeout",
		"protection/session-max-messages",
		"protection/session-max-transcript-bytes",
		"protection/party-send-rate",
		"protection/party-send-burst",
		"protection/chat-create-rate",
		"protection/chat-create-burst",
		"protection/trusted-proxies",
		"protection/push-connections-per-party",
		"protection/push-connect-rate",
		"protection/cometd-handshake-rate",
		"protection/cometd-handshake-burst",
		"protection/cometd-clients-per-address",
		"protection/header-timeout",
		"protection/body-timeout",
		"protection/body-min-rate",
		"protection/write-timeout",
		"protection/idle-timeout",
		"protection/max-header-bytes",
		"protection/contact-attributes",
		"ports/agent", "ports/esp", "ports/health", "ports/webapi",
		"routing/last-agent-timeout", "routing/offer-timeout", "routing:<queue>/bot-first",
		"settings/async-idle-alert", "settings/async-idle-close", "settings/async-idle-notices",
		"settings/closed-session-grace",
		"settings/flex-push-timeout",
		"settings/flex-disconnect-timeout",
		"settings/limit-for-sessions",
		"settings/attach-session-statistics",
		"settings/attach-stats-rep-events",
		"settings/attach-stats-rep-place",
		"settings/limits-control-enabled",
		"settings/limit-average-interval",
		"settings/limit-for-flex-users",
		"settings/limit-for-reply-delay",
		"settings/limits-reached-report-scs",
		"settings/limits-restore-threshold",
		"health-service/log-output-timeout",
		"health-service/log-output-proviso",
		"health-service/log-output-content",
		"log/verbose",
		"log/all", "log/standard", "log/trace", "log/debug", "log/segment", "log/expire", "log/time-format", "log/time-convert",
		"settings/session-password-enforce",
		"settings/stop-abandoned-interaction",
		"settings/session-restoration-mode",
		"settings/session-restore-extend-by",
		"settings/session-restore-push-send",
		"settings/transcript-auto-save",
		"settings/transcript-save-on-error",
		"settings/transcript-resend-attempts", "settings/transcript-resend-delay",
		"settings/session-restore-do-purge",
		"store/driver",
		"store/dsn",
		"cluster/lease",
		"settings/xml-request-max-size",
		"tenants/<tenant name>",
		// file transfer and push (issue 14)
		"client-file-transfer/download-attempts", "client-file-transfer/upload-file-types",
		"client-file-transfer/upload-max-file-size", "client-file-transfer/upload-max-files",
		"client-file-transfer/upload-max-total-size", "client-file-transfer/upload-need-agent",
		"documents/agent-upload-max-size", "documents/retention",
		"push/customhttp.url", "push/delivery-attempts", "push/delivery-backoff", "push/delivery-timeout",
		"push/pushEnabled", "push/queue-size",
		"settings/flex-push-content", "settings/flex-push-enabled", "settings/flex-push-on-join",
		"settings/flex-push-resend-attempts", "settings/flex-push-resend-delay",
		// masking and log hygiene (issue 13)
		"transcript-cleanup/allow-bot-unmask", "transcript-cleanup/apply-area", "transcript-cleanup/apply-config",
		"transcript-cleanup/clean-subject", "transcript-cleanup/default-repchar", "transcript-cleanup/default-spec",
		"transcript-cleanup/typing-preview", "transcript-cleanup/unmask-live-dialog",
		"settings/message-log-print-size", "settings/hide-attached-data",
		"log-filter-data/<user-data key>", "log-filter-data/default-filter-type", "log-filter-data/string-max-print-size",
	}
	var got []string
	for _, o := range config.Options() {
		if o.Implemented {
			got = append(got, o.Section+"/"+o.Name)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("implemented options\ngot  %q\nwant %q", got, want)
	}
}

// instance turns a catalogue entry into a concrete section and key.
func instance(o config.Option) (section, key string) {
	section = strings.NewReplacer("<service>", "svc", "<tenant id>", "1", "<name>", "french").Replace(o.Section)
	key = o.Name
	if o.Keyed() {
		key = map[string]string{"tenants": "Acme", "endpoints:1": "webme", "log-filter-data": "Transcript"}[section]
	}
	return section, key
}

// validSamples lists values every option must accept, with the value the
// Config then reports (Diff's New). Generic cases are derived from Kind.
func validSamples(o config.Option) map[string]string {
	switch o.Section + "/" + o.Name {
	case "settings/flex-push-content":
		return map[string]string{"": "", "secure-key, app-dbid,secure-key": "secure-key,app-dbid"}
	case "log/segment":
		return map[string]string{"false": "false", "10000": "10000", "10 MB": "10 MB", "2 hr": "2 hr"}
	case "log/expire":
		return map[string]string{"false": "false", "10": "10", "10 file": "10 file", "7 day": "7 day"}
	case "client-file-transfer/upload-file-types":
		return map[string]string{"": "", "PDF:.png": "pdf:png"}
	case "push/customhttp.url":
		return map[string]string{"": "", "http://127.0.0.1:9000/push": "http://127.0.0.1:9000/push", " https://push.example/x?y=1 ": "https://push.example/x?y=1"}
	case "log-filter-data/default-filter-type", "log-filter-data/<user-data key>":
		return map[string]string{"copy": "copy", "hide": "hide", "skip": "skip", "hide-first-4": "hide-first-4", "hide-last-1000": "hide-last-1000", "hide-last-007": "hide-last-7"}
	case "transcript-cleanup/default-spec":
		return map[string]string{"all": "all", "digits": "digits", "digits-keep-last-4": "digits-keep-last-4", "digits-keep-last-32": "digits-keep-last-32"}
	case "tenants/<tenant name>":
		return map[string]string{"1": "1", "0101": "101", "2147483647": "2147483647"}
	case "cors/allowed-origins":
		return map[string]string{"": "", "https://Shop.example.com/ http://*.example.org:8080": "https://shop.example.com, http://*.example.org:8080"}
	case "language:<name>/language":
		return map[string]string{"FR": "fr", "deu": "deu", "": ""}
	case "language:<name>/country":
		return map[string]string{"ca": "CA", "": ""}
	case "settings/stop-abandoned-interaction":
		return map[string]string{"always": "always", "never": "never", "noagents": "noagents", "noanswer": "noanswer", "false": "never", "true": "noanswer"}
	}
	m := map[string]string{}
	switch o.Kind {
	case config.KindBool:
		m = map[string]string{"true": "true", "FALSE": "false", "Yes": "true", "no": "false", "1": "true", "0": "false"}
	case config.KindInt, config.KindSeconds, config.KindMillis:
		lo, hi := strconv.FormatInt(o.Min, 10), strconv.FormatInt(o.Max, 10)
		m[lo], m[hi] = lo, hi
	case config.KindEnum:
		for _, v := range o.Values {
			m[v] = v
		}
	case config.KindString, config.KindSecret:
		m["some text: with = signs"] = "some text: with = signs"
		if o.Section != "endpoints:<tenant id>" {
			m[""] = ""
		}
	case config.KindChar:
		m["#"], m["é"] = "#", "é"
	case config.KindAddress:
		m["0.0.0.0:9000"], m[":0"], m["[::1]:65535"], m["localhost:80"] = "0.0.0.0:9000", ":0", "[::1]:65535", "localhost:80"
	case config.KindEndpoint:
		m["Environment:default"], m["1:webme"] = "Environment:default", "1:webme"
	}
	return m
}

// invalidSamples lists values every option must reject.
func invalidSamples(o config.Option) []string {
	switch o.Section + "/" + o.Name {
	case "settings/flex-push-content":
		return []string{"session-id,bogus"}
	case "client-file-transfer/upload-file-types":
		return []string{"pdf::png", "a b", "x/y"}
	case "cors/allowed-origins":
		return []string{"*", "shop.example.com", "https://example.com/path", "https://a.*.example.com"}
	case "push/customhttp.url":
		return []string{"ftp://x/y", "/relative", "http://", "not a url"}
	case "log-filter-data/default-filter-type", "log-filter-data/<user-data key>":
		return []string{"bogus", "hide-first-0", "hide-last-1001", "hide-first-", "hide-first-+3", "Copy"}
	case "tenants/<tenant name>":
		return []string{"0", "-1", "2147483648", "one", ""}
	case "language:<name>/language":
		return []string{"french", "f", "f1", "fr-CA"}
	case "language:<name>/country":
		return []string{"USA", "C", "12"}
	}
	switch o.Kind {
	case config.KindBool:
		return []string{"maybe", ""}
	case config.KindInt, config.KindSeconds, config.KindMillis:
		return []string{strconv.FormatInt(o.Min-1, 10), strconv.FormatInt(o.Max+1, 10), "ten", "1.5", ""}
	case config.KindEnum:
		return []string{"bogus", ""}
	case config.KindChar:
		return []string{"", "ab"}
	case config.KindAddress:
		return []string{"8080", "host:", "host:65536", "host:http", ""}
	case config.KindEndpoint:
		return []string{"nocolon", ":default", "Environment:", ""}
	case config.KindString:
		if o.Section == "endpoints:<tenant id>" {
			return []string{""}
		}
	}
	return nil
}

func TestEveryOptionValidValues(t *testing.T) {
	for _, o := range config.Options() {
		section, key := instance(o)
		for raw, canon := range validSamples(o) {
			t.Run(section+"/"+key+"="+raw, func(t *testing.T) {
				src := fmt.Sprintf("[%s]\n%s = %s\n", section, key, raw)
				c, _, err := config.Parse("config.ini", []byte(src))
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				got := valueOf(t, c, section, key)
				if got != canon {
					t.Errorf("value %q, want %q", got, canon)
				}
			})
		}
	}
}

// valueOf returns the value c holds for an option in file form: Diff
// against Default lists it when it differs, otherwise it is the catalogue
// default.
func valueOf(t *testing.T, c *config.Config, section, key string) string {
	t.Helper()
	for _, ch := range config.Diff(config.Default(), c) {
		if ch.Section == section && ch.Option == key {
			return ch.New
		}
	}
	for _, o := range config.Options() {
		if s, k := instance(o); s == section && k == key {
			return o.Default
		}
	}
	t.Fatalf("no option [%s] %s", section, key)
	return ""
}

func TestEveryOptionInvalidValues(t *testing.T) {
	for _, o := range config.Options() {
		section, key := instance(o)
		for _, raw := range invalidSamples(o) {
			t.Run(section+"/"+key+"="+raw, func(t *testing.T) {
				src := fmt.Sprintf("; line 1\n[%s]\n%s = %s\n", section, key, raw)
				c, _, err := config.Parse("config.ini", []byte(src))
				if err == nil {
					t.Fatalf("accepted, config %v", c != nil)
				}
				if c != nil {
					t.Error("a Config was returned with an error")
				}
				want := fmt.Sprintf("config.ini:3: [%s] %s = %q: must be %s", section, key, raw, o.Range)
				if err.Error() != want {
					t.Errorf("error\ngot  %s\nwant %s", err, want)
				}
			})
		}
	}
}

// TestEachOptionHasItsOwnField sets every fixed option to a value other
// than its default and checks that exactly that option changed, so no two
// options share a field and no option writes into the wrong one.
func TestEachOptionHasItsOwnField(t *testing.T) {
	for _, o := range config.Options() {
		if !fixed(o) {
			continue
		}
		var other string
		for raw, canon := range validSamples(o) {
			if canon != o.Default && raw != "" {
				other = raw
				break
			}
		}
		if other == "" {
			t.Errorf("[%s] %s: no non-default sample", o.Section, o.Name)
			continue
		}
		c, _, err := config.Parse("x.ini", []byte(fmt.Sprintf("[%s]\n%s = %s\n", o.Section, o.Name, other)))
		if err != nil {
			t.Fatal(err)
		}
		changes := config.Diff(config.Default(), c)
		if len(changes) != 1 || changes[0].Section != o.Section || changes[0].Option != o.Name {
			t.Errorf("[%s] %s = %s changed %+v", o.Section, o.Name, other, changes)
		}
	}
}

func TestErrorTextExamples(t *testing.T) {
	tests := []struct{ src, want string }{
		{"[settings]\n\n\n\n\n\n\n\n\n\n\nflex-disconnect-timeout = 0\n",
			`config.ini:12: [settings] flex-disconnect-timeout = "0": must be integer 1–1728000 (seconds)`},
		{"[settings]\ntranscript-auto-save = 3\n",
			`config.ini:2: [settings] transcript-auto-save = "3": must be one of 0, 1, 2`},
		{"[settings]\nsession-restoration-mode = full\n",
			`config.ini:2: [settings] session-restoration-mode = "full": must be one of none, simple`},
		{"[inactivity-control]\nenabled = maybe\n",
			`config.ini:2: [inactivity-control] enabled = "maybe": must be true or false`},
		{"[settings]\nxml-request-max-size = 199\n",
			`config.ini:2: [settings] xml-request-max-size = "199": must be integer 200–2147482624 (bytes)`},
		{"[endpoints:1]\nwebme =\n",
			`config.ini:2: [endpoints:1] webme = "": must be non-empty queue name`},
		{"[ports]\nwebapi = 8080\n",
			`config.ini:2: [ports] webapi = "8080": must be host:port (port 0–65535)`},
	}
	for _, tt := range tests {
		_, _, err := config.Parse("config.ini", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("got  %v\nwant %s", err, tt.want)
		}
	}
}
