package config

import (
	"strconv"
	"strings"
	"time"
)

// Built-in tenant and endpoint: the reference's default tenant and one
// endpoint feeding a queue of the same name.
const (
	defaultTenantName = "Environment"
	defaultTenantID   = "1"
	defaultEndpoint   = "default"
	defaultQueue      = "default"
	defaultListen     = "127.0.0.1:8080"
)

func inactivitySection() *sectionSpec {
	return &sectionSpec{name: "inactivity-control", opts: []*desc{
		{Option: Option{Name: "enabled", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
			Doc: "Switch idle control of regular sessions on; running sessions pick up a change at their next activity or timer expiry."},
			bind: field(func(c *Config) *bool { return &c.Inactivity.Enabled })},
		{Option: Option{Name: "include-notices", Default: "major", Kind: KindEnum, Values: noticeValues, Effect: Immediate, Implemented: true,
			Doc: "Notices that count as activity, with the same values as [settings] async-idle-notices."},
			bind: enumField(func(c *Config) *NoticeSet { return &c.Inactivity.IncludeNotices })},
		{Option: Option{Name: "message-alert", Default: "Chat session will be closed soon due to inactivity of chat participants.", Kind: KindString, Effect: Immediate, Implemented: true,
			Doc: "Text of the first idle alert (IDLE_CONTROL_ALERT, the customer's IdleAlert); empty sends the notice without text. [language:<name>] may override it."},
			bind: field(func(c *Config) *string { return &c.Inactivity.MessageAlert })},
		{Option: Option{Name: "message-alert2", Default: "Chat session will be closed very soon due to inactivity of chat participants.", Kind: KindString, Effect: Immediate, Implemented: true,
			Doc: "Text of the second idle alert; empty sends the notice without text."},
			bind: field(func(c *Config) *string { return &c.Inactivity.MessageAlert2 })},
		{Option: Option{Name: "message-close", Default: "Chat session closed due to inactivity of chat participants.", Kind: KindString, Effect: Immediate, Implemented: true,
			Doc: "Text sent when a session is closed for inactivity (regular or async); empty sends no text."},
			bind: field(func(c *Config) *string { return &c.Inactivity.MessageClose })},
		{Option: Option{Name: "timeout-alert", Default: "255", Kind: KindSeconds, Min: 1, Max: 86400, Effect: Immediate, Implemented: true,
			Doc: "Quiet time before the first alert; any activity restarts it."},
			bind: field(func(c *Config) *time.Duration { return &c.Inactivity.TimeoutAlert })},
		{Option: Option{Name: "timeout-alert2", Default: "0", Kind: KindSeconds, Min: 0, Max: 86400, Effect: Immediate, Implemented: true,
			Doc: "Quiet time after the first alert before a second one; 0 skips the second alert."},
			bind: field(func(c *Config) *time.Duration { return &c.Inactivity.TimeoutAlert2 })},
		{Option: Option{Name: "timeout-close", Default: "45", Kind: KindSeconds, Min: 1, Max: 86400, Effect: Immediate, Implemented: true,
			Doc: "Quiet time after the last alert before the session is closed."},
			bind: field(func(c *Config) *time.Duration { return &c.Inactivity.TimeoutClose })},
	}}
}

func cleanupSection() *sectionSpec {
	word := func(p func(c *Cleanup) *string) binding {
		return enumField(func(c *Config) *string { return p(&c.Cleanup) })
	}
	return &sectionSpec{name: "transcript-cleanup", opts: []*desc{
		{Option: Option{Name: "allow-bot-unmask", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
			Doc: "Let bots see the unmasked text while masking is on."},
			bind: field(func(c *Config) *bool { return &c.Cleanup.AllowBotUnmask })},
		{Option: Option{Name: "apply-area", Default: "never", Kind: KindEnum, Values: []string{"always", "history-all", "history-final", "never"}, Effect: Immediate, Implemented: true,
			Doc: "Where masking applies: live traffic and storage (always), every stored transcript (history-all), the final stored one only (history-final), or nowhere."},
			bind: word(func(c *Cleanup) *string { return &c.ApplyArea })},
		{Option: Option{Name: "apply-config", Default: "mix", Kind: KindEnum, Values: []string{"cfg", "mix", "ucs"}, Effect: Immediate, Implemented: true,
			Doc: "Source of masking rules: built-in (cfg), per-session rules from contact history only (ucs), or those when present and built-in otherwise (mix)."},
			bind: word(func(c *Cleanup) *string { return &c.ApplyConfig })},
		{Option: Option{Name: "clean-subject", Default: "never", Kind: KindEnum, Values: []string{"never", "history", "interaction", "both"}, Effect: Immediate, Implemented: true,
			Doc: "Also mask the chat subject: nowhere, in the history record, in the interaction, or in both."},
			bind: word(func(c *Cleanup) *string { return &c.CleanSubject })},
		{Option: Option{Name: "default-repchar", Default: "*", Kind: KindChar, Effect: Immediate, Implemented: true,
			Doc: "Character written in place of masked data."},
			bind: field(func(c *Config) *rune { return &c.Cleanup.DefaultRepChar })},
		{Option: Option{Name: "typing-preview", Default: "none", Kind: KindEnum, Values: []string{"any", "message", "none", "notice"}, Effect: Immediate, Implemented: true,
			Doc: "Mask digits in typing previews: in the message part, the notice part, both (any), or not at all."},
			bind: word(func(c *Cleanup) *string { return &c.TypingPreview })},
		{Option: Option{Name: "default-spec", Default: "digits", Kind: KindEnum, Effect: Immediate, Implemented: true,
			Range: "all, digits, or digits-keep-last-N (N 1–32)",
			Doc:   "How rules without a spec of their own replace a match: every character (all), only its digits (digits), or its digits but the last N. (Format and default are Confab's choice; the reference's example replaces digits.)"},
			parse: parseMaskSpec,
			bind:  enumField(func(c *Config) *string { return &c.Cleanup.DefaultSpec })},
		{Option: Option{Name: "unmask-live-dialog", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
			Doc: "Show active agents the customer's unmasked text sent after they joined, while stored copies stay masked. (Default is Confab's choice.)"},
			bind: field(func(c *Config) *bool { return &c.Cleanup.UnmaskLiveDialog })},
	}}
}

// parseMaskSpec accepts a masking spec: all, digits or digits-keep-last-N
// with N from 1 to 32 (the pii package reads the same words).
func parseMaskSpec(raw string) (any, bool) {
	switch raw {
	case "all", "digits":
		return raw, true
	}
	n, ok := strings.CutPrefix(raw, "digits-keep-last-")
	if !ok || n == "" || n[0] < '1' || n[0] > '9' {
		return nil, false
	}
	v, err := strconv.Atoi(n)
	return raw, err == nil && v >= 1 && v <= 32
}

func fileTransferSection() *sectionSpec {
	num := func(p func(f *FileTransfer) *int) binding {
		return field(func(c *Config) *int { return p(&c.FileTransfer) })
	}
	return &sectionSpec{name: "client-file-transfer", opts: []*desc{
		{Option: Option{Name: "upload-max-files", Default: "3", Kind: KindInt, Min: 0, Max: 1000, Effect: Immediate, Implemented: true,
			Doc: "Most files one customer may upload in a session."},
			bind: num(func(f *FileTransfer) *int { return &f.UploadMaxFiles })},
		{Option: Option{Name: "upload-max-file-size", Default: "2097152", Kind: KindInt, Min: 0, Max: 1073741823, Effect: Immediate, Implemented: true,
			Doc: "Largest single file a customer may upload."},
			unit: "bytes",
			bind: num(func(f *FileTransfer) *int { return &f.UploadMaxFileSize })},
		{Option: Option{Name: "upload-max-total-size", Default: "5242880", Kind: KindInt, Min: 0, Max: 1073741823, Effect: Immediate, Implemented: true,
			Doc: "Largest total a customer may upload in a session."},
			unit: "bytes",
			bind: num(func(f *FileTransfer) *int { return &f.UploadMaxTotalSize })},
		{Option: Option{Name: "upload-file-types", Default: "gif:jpeg:jpg:pdf:png:txt", Kind: KindString, Effect: Immediate, Implemented: true,
			Range: "colon-separated file extensions",
			Doc:   "File extensions customers may upload, as reported in the file limits; empty allows every type." + ours},
			parse: parseExtensions,
			bind:  field(func(c *Config) *string { return &c.FileTransfer.UploadFileTypes })},
		{Option: Option{Name: "upload-need-agent", Default: "true", Kind: KindBool, Effect: Immediate, Implemented: true,
			Doc: "Allow customer uploads only while an agent is in the session. (Named after the file-limits key of the customer API; default is Confab's choice.)"},
			bind: field(func(c *Config) *bool { return &c.FileTransfer.UploadNeedAgent })},
		{Option: Option{Name: "download-attempts", Default: "5", Kind: KindInt, Min: 1, Max: 1000, Effect: Immediate, Implemented: true,
			Doc: "How many downloads the customer may make in a session, all files together. (Named after the file-limits key of the customer API; default and range are Confab's choice.)"},
			bind: num(func(f *FileTransfer) *int { return &f.DownloadAttempts })},
	}}
}

// parseExtensions accepts "jpg:png:pdf" (a leading dot on an extension is
// dropped, case is lowered) and rejects empty entries or blanks.
func parseExtensions(raw string) (any, bool) {
	if raw == "" {
		return "", true
	}
	parts := strings.Split(raw, ":")
	for i, p := range parts {
		p = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(p), "."))
		if p == "" || strings.ContainsAny(p, " \t./\\") {
			return nil, false
		}
		parts[i] = p
	}
	return strings.Join(parts, ":"), true
}

func healthSection() *sectionSpec {
	return &sectionSpec{name: "health-service", opts: []*desc{
		{Option: Option{Name: "log-output-timeout", Default: "0", Kind: KindSeconds, Min: 0, Max: 86400, Effect: Immediate, Implemented: true,
			Doc: "Period for writing the health counters to the log; 0 never writes them."},
			bind: field(func(c *Config) *time.Duration { return &c.Health.LogOutputTimeout })},
		{Option: Option{Name: "log-output-proviso", Default: "update", Kind: KindEnum, Values: []string{"always", "update"}, Effect: Immediate, Implemented: true,
			Doc: "Write the counters every period (always) or only when some changed lately (update)."},
			bind: enumField(func(c *Config) *string { return &c.Health.LogOutputProviso })},
		{Option: Option{Name: "log-output-content", Default: "set", Kind: KindEnum, Values: []string{"all", "new", "set"}, Effect: Immediate, Implemented: true,
			Doc: "Counters written: every defined one (all), those updated since the last write (new), or the non-zero ones (set)."},
			bind: enumField(func(c *Config) *string { return &c.Health.LogOutputContent })},
	}}
}

// maxFilterCount bounds N in hide-first-N and hide-last-N.
const maxFilterCount = 1000

const filterRange = "one of copy, hide, skip, hide-first-N, hide-last-N (N 1–1000)"

// parseFilterType accepts a FilterType.
func parseFilterType(raw string) (any, bool) {
	switch FilterType(raw) {
	case FilterCopy, FilterHide, FilterSkip:
		return raw, true
	}
	for _, p := range []string{"hide-first-", "hide-last-"} {
		if n, ok := strings.CutPrefix(raw, p); ok {
			v, err := strconv.Atoi(n)
			if err == nil && v >= 1 && v <= maxFilterCount && n[0] != '+' {
				return p + strconv.Itoa(v), true
			}
		}
	}
	return nil, false
}

func logFilterSection() *sectionSpec {
	return &sectionSpec{
		name: "log-filter-data",
		opts: []*desc{
			{Option: Option{Name: "default-filter-type", Default: "copy", Kind: KindEnum, Range: filterRange, Effect: Immediate, Implemented: true,
				Doc: "How user-data values without a key of their own below are printed in logs: as is, masked, left out, or with the first or last N characters masked."},
				parse: parseFilterType,
				bind:  enumField(func(c *Config) *FilterType { return &c.LogFilter.DefaultFilterType })},
			{Option: Option{Name: "string-max-print-size", Default: "128", Kind: KindInt, Min: 0, Max: 1048576, Effect: Immediate, Implemented: true,
				Doc: "Longest string value printed in logs before it is cut. (Range is Confab's choice; the default comes from a reference configuration sample.)"},
				unit: "characters",
				bind: field(func(c *Config) *int { return &c.LogFilter.StringMaxPrintSize })},
		},
		anyKey: &desc{Option: Option{Name: "<user-data key>", Default: "", Kind: KindEnum, Range: filterRange, Effect: Immediate, Implemented: true,
			Doc: "Any other option names a user-data key (for example Transcript) and sets its own filter type."},
			parse: parseFilterType,
			bind: binding{
				get: func(c *Config, _, key string) (any, bool) {
					v, ok := c.LogFilter.Keys[key]
					return string(v), ok
				},
				set: func(c *Config, _, key string, v any) { c.LogFilter.Keys[key] = FilterType(v.(string)) },
				del: func(c *Config, _, key string) { delete(c.LogFilter.Keys, key) },
			}},
		keys: func(c *Config, _ string) []string { return sortedKeys(c.LogFilter.Keys) },
	}
}

func logSection() *sectionSpec {
	return &sectionSpec{name: "log", opts: []*desc{
		{Option: Option{Name: "verbose", Default: "standard", Kind: KindEnum, Values: []string{"all", "debug", "trace", "standard", "none"}, Effect: Immediate, Implemented: true,
			Doc: "How much the server logs: all, debug and trace log everything (slog debug level and up); standard the operational lines (info and up); none nothing."},
			bind: enumField(func(c *Config) *string { return &c.Log.Verbose })},
		logOutput("all", "Where messages of every level are written: stdout, stderr or a file name, comma-separated.", func(l *Log) *string { return &l.All }),
		logOutput("standard", "Where standard-level messages are written (same values as all).", func(l *Log) *string { return &l.Standard }),
		logOutput("trace", "Where trace-level messages are written (same values as all).", func(l *Log) *string { return &l.Trace }),
		logOutput("debug", "Where debug-level messages are written (same values as all).", func(l *Log) *string { return &l.Debug }),
		{Option: Option{Name: "segment", Default: "false", Kind: KindString, Range: "false, or a size in KB (e.g. 10000 or 10 MB), or hours (e.g. 2 hr)", Effect: Restart, Implemented: true,
			Doc: "Start a new log file when the current one reaches this size or age; false keeps one file."},
			parse: func(raw string) (any, bool) { _, err := ParseLogSegment(raw); return raw, err == nil },
			bind:  field(func(c *Config) *string { return &c.Log.Segment })},
		{Option: Option{Name: "expire", Default: "false", Kind: KindString, Range: "false, or a count of files or days (e.g. 10, 10 file, 7 day)", Effect: Restart, Implemented: true,
			Doc: "How many log segments (or days of them) are kept before the oldest is deleted; false keeps them all."},
			parse: func(raw string) (any, bool) { _, err := ParseLogExpire(raw); return raw, err == nil },
			bind:  field(func(c *Config) *string { return &c.Log.Expire })},
		{Option: Option{Name: "buffering", Default: "false", Kind: KindBool, Effect: Restart,
			Doc: "Buffer log file writes in memory (faster, may lose the last lines in a crash)."},
			bind: field(func(c *Config) *bool { return &c.Log.Buffering })},
		{Option: Option{Name: "time-format", Default: "time", Kind: KindEnum, Values: []string{"time", "locale", "ISO8601"}, Effect: Restart, Implemented: true,
			Doc: "Format of the time stamp of each log line."},
			bind: enumField(func(c *Config) *string { return &c.Log.TimeFormat })},
		{Option: Option{Name: "time-convert", Default: "local", Kind: KindEnum, Values: []string{"local", "utc"}, Effect: Restart, Implemented: true,
			Doc: "Whether log time stamps are local time or UTC."},
			bind: enumField(func(c *Config) *string { return &c.Log.TimeConvert })},
		{Option: Option{Name: "messagefile", Default: "", Kind: KindString, Range: "a file name", Effect: Restart,
			Doc: "The reference's catalogue of numbered log messages; Confab has none and ignores it."},
			bind: field(func(c *Config) *string { return &c.Log.MessageFile })},
	}}
}

// logOutput is a [log] output option (all, standard, trace, debug).
func logOutput(name, doc string, p func(*Log) *string) *desc {
	return &desc{Option: Option{Name: name, Default: "", Kind: KindString, Range: "stdout, stderr or file names, comma-separated", Effect: Restart, Implemented: true,
		Doc: doc + " (Values follow the reference's standard log options.)"},
		bind: field(func(c *Config) *string { return p(&c.Log) })}
}

func chatSection() *sectionSpec {
	return &sectionSpec{name: "chat", opts: []*desc{
		{Option: Option{Name: "default_chat_endpoint", Default: defaultTenantName + ":" + defaultEndpoint, Kind: KindEndpoint, Effect: Immediate, Implemented: true,
			Doc: "Endpoint that new customer chats enter, for every service without its own _chat_endpoint; the tenant is a [tenants] name or a numeric id."},
			bind: field(func(c *Config) *string { return &c.Chat.DefaultChatEndpoint })},
		{Option: Option{Name: "chat_session_request_timeout", Default: "30000", Kind: KindMillis, Min: 1, Max: 2147483647, Effect: Immediate,
			Doc: "Gateway option: time after which a pending chat session request is dropped."},
			bind: field(func(c *Config) *time.Duration { return &c.Chat.ChatSessionRequestTimeout })},
		{Option: Option{Name: "enable_notification_mode", Default: "false", Kind: KindBool, Effect: Restart,
			Doc: "Gateway option: deliver chat events to customers as push notifications (for example custom HTTP) rather than only on request."},
			bind: field(func(c *Config) *bool { return &c.Chat.EnableNotificationMode })},
		{Option: Option{Name: "_client_timeout", Default: "900", Kind: KindSeconds, Min: 1, Max: 2147483647, Effect: Restart, Implemented: true,
			Doc: "Gateway option: a push-connected (CometD) customer that makes no request for this long loses its session; [chat.<service>] may override it."},
			bind: field(func(c *Config) *time.Duration { return &c.Chat.ClientTimeout })},
	}}
}

func serviceSection() *sectionSpec {
	service := func(p func(s *Service) any, set func(s *Service, v any)) binding {
		return binding{
			get: func(c *Config, arg, _ string) (any, bool) {
				s, ok := c.Services[arg]
				if !ok {
					return nil, false
				}
				v := p(&s)
				switch v := v.(type) {
				case string:
					return v, v != ""
				case time.Duration:
					return v, v != 0
				}
				return v, true
			},
			set: func(c *Config, arg, _ string, v any) {
				s := c.Services[arg]
				set(&s, v)
				c.Services[arg] = s
			},
			del: func(c *Config, arg, _ string) {
				if s, ok := c.Services[arg]; ok {
					var zero any = ""
					if _, isDur := p(&s).(time.Duration); isDur {
						zero = time.Duration(0)
					}
					set(&s, zero)
					c.Services[arg] = s
				}
			},
		}
	}
	return &sectionSpec{
		name: "chat.", family: true, display: "chat.<service>",
		argDesc: "a service name after \"chat.\"",
		canonArg: func(arg string) (string, bool) {
			return arg, arg != "" && strings.TrimSpace(arg) == arg
		},
		opts: []*desc{
			{Option: Option{Name: "_chat_endpoint", Default: "", Kind: KindEndpoint, Effect: Immediate, Implemented: true,
				Doc: "Endpoint that this service's chats enter; unset means [chat] default_chat_endpoint."},
				bind: service(func(s *Service) any { return s.ChatEndpoint }, func(s *Service, v any) { s.ChatEndpoint = v.(string) })},
			{Option: Option{Name: "_client_timeout", Default: "", Kind: KindSeconds, Min: 1, Max: 2147483647, Effect: Restart, Implemented: true,
				Doc: "This service's own [chat] _client_timeout; unset means the [chat] value."},
				bind: service(func(s *Service) any { return s.ClientTimeout }, func(s *Service, v any) { s.ClientTimeout = v.(time.Duration) })},
		},
		enter: func(c *Config, arg string, _ bool) {
			if _, ok := c.Services[arg]; !ok {
				c.Services[arg] = Service{}
			}
		},
		args: func(c *Config) []string { return sortedKeys(c.Services) },
	}
}

func tenantsSection() *sectionSpec {
	return &sectionSpec{
		name: "tenants",
		anyKey: &desc{Option: Option{Name: "<tenant name>", Default: defaultTenantName + " = " + defaultTenantID,
			Kind: KindInt, Min: 1, Max: 2147483647, Effect: Immediate, Implemented: true,
			Doc: "Each option names a tenant and gives its numeric id, so endpoints can be written <tenant name>:<endpoint>; the section replaces the built-in tenant list."},
			unit:   "tenant id",
			parse:  func(raw string) (any, bool) { return positiveID(raw) },
			format: func(v any) string { return v.(string) },
			bind: binding{
				get: func(c *Config, _, key string) (any, bool) {
					v, ok := c.Tenants[key]
					return v, ok
				},
				set: func(c *Config, _, key string, v any) { c.Tenants[key] = v.(string) },
				del: func(c *Config, _, key string) { delete(c.Tenants, key) },
			}},
		enter: func(c *Config, _ string, first bool) {
			if first {
				c.Tenants = map[string]string{}
			}
		},
		keys: func(c *Config, _ string) []string { return sortedKeys(c.Tenants) },
	}
}

func endpointsSection() *sectionSpec {
	return &sectionSpec{
		name: "endpoints:", family: true, display: "endpoints:<tenant id>",
		argDesc:  "a tenant id from 1 to 2147483647 after \"endpoints:\"",
		canonArg: positiveID,
		anyKey: &desc{Option: Option{Name: "<endpoint name>", Default: defaultEndpoint + " = " + defaultQueue + " (in [endpoints:" + defaultTenantID + "])",
			Kind: KindString, Range: "non-empty queue name", Effect: Immediate, Implemented: true,
			Doc: "Each option names an endpoint of the tenant and gives the queue its new chats are submitted to; these sections replace the built-in endpoint."},
			required: true,
			bind: binding{
				get: func(c *Config, arg, key string) (any, bool) {
					v, ok := c.Endpoints[arg][key]
					return v, ok
				},
				set: func(c *Config, arg, key string, v any) { c.Endpoints[arg][key] = v.(string) },
				del: func(c *Config, arg, key string) { delete(c.Endpoints[arg], key) },
			}},
		enter: func(c *Config, arg string, first bool) {
			if first {
				c.Endpoints = map[string]map[string]string{}
			}
			if c.Endpoints[arg] == nil {
				c.Endpoints[arg] = map[string]string{}
			}
		},
		args: func(c *Config) []string { return sortedKeys(c.Endpoints) },
		keys: func(c *Config, arg string) []string { return sortedKeys(c.Endpoints[arg]) },
	}
}

func portsSection() *sectionSpec {
	port := func(id, what string) *desc {
		return &desc{Option: Option{Name: id, Default: defaultListen, Kind: KindAddress, Effect: Restart, Implemented: true,
			Doc: "Listen address of the " + what + "; several listeners may share one address."},
			bind: binding{
				get: func(c *Config, _, key string) (any, bool) { return c.Ports[key], true },
				set: func(c *Config, _, key string, v any) { c.Ports[key] = v.(string) },
			}}
	}
	return &sectionSpec{name: "ports", opts: []*desc{
		port(PortWebAPI, "customer Chat API"),
		port(PortAgent, "agent and bot protocol"),
		port(PortESP, "workflow (ESP) interface"),
		port(PortHealth, "health, counters and metrics endpoints"),
	}}
}

func tokenSection(name, what string, ptr func(c *Config) *string) *sectionSpec {
	return &sectionSpec{name: name, opts: []*desc{
		{Option: Option{Name: "token", Default: "", Kind: KindSecret, Effect: Restart, Implemented: true,
			Doc: "Shared secret for the " + what + "; empty means the server generates one at first start."},
			bind: field(ptr)},
	}}
}
