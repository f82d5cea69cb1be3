package config

import "time"

// Config is one complete, validated configuration. Values are built by
// Default, Parse, Load and the Watcher and are never modified afterwards,
// so one *Config may be shared by any number of goroutines. The maps are
// part of that contract: read them, never write them. A reload builds a
// new Config rather than changing the old one.
type Config struct {
	Settings     Settings     // [settings]
	Inactivity   Inactivity   // [inactivity-control]
	Cleanup      Cleanup      // [transcript-cleanup]
	FileTransfer FileTransfer // [client-file-transfer]
	Health       Health       // [health-service]
	LogFilter    LogFilter    // [log-filter-data]
	Log          Log          // [log]
	Chat         Chat         // [chat], the gateway's chat options

	// Services holds one entry per [chat.<service name>] section, keyed by
	// service name. A service without its own endpoint uses
	// Chat.DefaultChatEndpoint; see ServiceEndpoint.
	Services map[string]Service

	// Languages holds one entry per [language:<name>] section, keyed by
	// the language's name (the session's GCTI_LanguageName).
	Languages map[string]Language

	// Tenants maps tenant name to tenant id ([tenants] name = id). The
	// built-in map is {"Environment": "1"}; a [tenants] section in the file
	// replaces it as a whole.
	Tenants map[string]string

	// Endpoints maps tenant id to endpoint name to queue name, one inner
	// map per [endpoints:<tenant id>] section. The built-in value is
	// {"1": {"default": "default"}}; any [endpoints:N] section in the file
	// replaces it as a whole.
	Endpoints map[string]map[string]string

	// Ports maps listener id (PortWebAPI, PortAgent, PortESP, PortHealth)
	// to its listen address. Several ids may share one address.
	Ports map[string]string

	Admin Admin // [admin]
	ESP   ESP   // [esp]

	Protection Protection // [protection], Confab's own
	CORS       CORS       // [cors]
	Store      Store      // [store], Confab's own
	Documents  Documents  // [documents]
	Push       Push       // [push]
	Cluster    Cluster    // [cluster], Confab's own

	Routing Routing // [routing], Confab's own
	// RoutingQueues holds one entry per [routing:<queue>] section.
	RoutingQueues map[string]RoutingQueue
}

// Listener ids used as option names in [ports].
const (
	PortWebAPI = "webapi" // customer Chat API v2
	PortAgent  = "agent"  // agent and bot WebSocket protocol
	PortESP    = "esp"    // workflow (ESP) requests
	PortHealth = "health" // counters, metrics, liveness and readiness
)

// StopMode is the value of [settings] stop-abandoned-interaction.
type StopMode string

// The values of stop-abandoned-interaction.
const (
	StopAlways   StopMode = "always"   // always stop the interaction at session end
	StopNever    StopMode = "never"    // leave the interaction to desktop and workflow
	StopNoAgents StopMode = "noagents" // stop it if no agent is in the session at close
	StopNoAnswer StopMode = "noanswer" // stop it if no agent ever joined
)

// NoticeSet selects which notices count, for async-idle-notices,
// include-notices and transcript-save-notices.
type NoticeSet string

// The values of a NoticeSet.
const (
	NoticesNone   NoticeSet = "none"   // no notice counts
	NoticesMajor  NoticeSet = "major"  // push URL, file uploaded, file deleted
	NoticesMajor2 NoticeSet = "major2" // major plus custom notices
	NoticesTyping NoticeSet = "typing" // major plus typing started
	NoticesAll    NoticeSet = "all"    // every user notice
)

// FilterType says how a user-data value is printed in logs: "copy",
// "hide", "skip", "hide-first-N" or "hide-last-N" (N from 1 to 1000).
type FilterType string

// The fixed filter types; "hide-first-N" and "hide-last-N" carry a count.
const (
	FilterCopy FilterType = "copy" // print the value as is
	FilterHide FilterType = "hide" // print the key with the value masked
	FilterSkip FilterType = "skip" // leave the pair out altogether
)

// Settings holds the [settings] section. Each field holds the option of
// the matching name (FlexDisconnectTimeout is flex-disconnect-timeout);
// Options documents meaning, default and range. Durations come from whole seconds, or milliseconds where the
// option says so. The section structs below follow the same rule.
type Settings struct {
	AsyncIdleAlert           time.Duration
	AsyncIdleClose           time.Duration
	AsyncIdleNotices         NoticeSet
	AttachSessionStatistics  string // none, fired or all
	AttachStatsRepEvents     string // none, dormant or all
	AttachStatsRepPlace      string // none or userdata
	FlexDisconnectTimeout    time.Duration
	FlexPushOnJoin           bool
	FlexPushEnabled          bool
	FlexPushTimeout          time.Duration
	FlexPushContent          string // comma-separated field names
	FlexPushResendAttempts   int
	FlexPushResendDelay      time.Duration
	IxnSubmittedByName       string
	LimitsControlEnabled     bool
	LimitAverageInterval     time.Duration
	LimitForFlexUsers        int // 0 = no limit
	LimitForSessions         int // 0 = no limit
	LimitForReplyDelay       time.Duration
	LimitsReachedReportSCS   bool
	LimitsRestoreThreshold   int    // percent
	SessionRestorationMode   string // none or simple
	SessionRestoreDoPurge    bool
	SessionRestoreExtendBy   string // none, agent, esp or both
	SessionRestorePushSend   bool
	SessionPasswordEnforce   bool
	StopAbandonedInteraction StopMode
	TranscriptAutoSave       int    // 0, 1 or 2
	TranscriptSaveOnError    string // none or close
	TranscriptResendAttempts int
	TranscriptResendDelay    time.Duration
	TranscriptSaveNotices    NoticeSet
	UserRegisterTimeout      time.Duration
	XMLRequestMaxSize        int // bytes
	MessageLogPrintSize      int // characters
	HideAttachedData         bool
	AllowDuplicatedKVP       bool
	ConnectionDownReportSCS  bool
	ClosedSessionGrace       time.Duration // Confab extension
}

// Inactivity holds [inactivity-control], the idle timers of regular
// (non-async) sessions.
type Inactivity struct {
	Enabled        bool
	IncludeNotices NoticeSet
	MessageAlert   string
	MessageAlert2  string
	MessageClose   string
	TimeoutAlert   time.Duration
	TimeoutAlert2  time.Duration // 0 = no second alert
	TimeoutClose   time.Duration
}

// Cleanup holds [transcript-cleanup], the masking of sensitive data.
type Cleanup struct {
	AllowBotUnmask   bool
	ApplyArea        string // always, history-all, history-final or never
	ApplyConfig      string // cfg, mix or ucs
	CleanSubject     string // never, history, interaction or both
	DefaultRepChar   rune
	TypingPreview    string // any, message, none or notice
	DefaultSpec      string
	UnmaskLiveDialog bool
}

// FileTransfer holds [client-file-transfer], the limits on customer
// uploads.
type FileTransfer struct {
	UploadMaxFiles     int
	UploadMaxFileSize  int    // bytes
	UploadMaxTotalSize int    // bytes
	UploadFileTypes    string // colon-separated extensions
	UploadNeedAgent    bool
	DownloadAttempts   int
}

// Health holds [health-service], the periodic printing of counters.
type Health struct {
	LogOutputTimeout time.Duration // 0 = off
	LogOutputProviso string        // always or update
	LogOutputContent string        // all, new or set
}

// LogFilter holds [log-filter-data]: how user data is printed in logs.
type LogFilter struct {
	DefaultFilterType  FilterType
	StringMaxPrintSize int
	// Keys maps a user-data key to its own filter type; keys not listed
	// use DefaultFilterType.
	Keys map[string]FilterType
}

// Log holds [log].
type Log struct {
	Verbose string // all, debug, trace, standard or none
	// All, Standard, Trace and Debug are output lists: stdout, stderr or
	// file names, comma-separated.
	All, Standard, Trace, Debug string
	Segment                     string // false, or a size or age
	Expire                      string // false, or a count of files or days
	Buffering                   bool
	TimeFormat                  string // time, locale or ISO8601
	TimeConvert                 string // local or utc
	MessageFile                 string
}

// Chat holds the gateway's [chat] section.
type Chat struct {
	DefaultChatEndpoint       string // <tenant>:<endpoint>
	ChatSessionRequestTimeout time.Duration
	EnableNotificationMode    bool
	ClientTimeout             time.Duration // _client_timeout
}

// Service holds one [chat.<service name>] section. Zero fields mean "not
// set here": the [chat] value applies.
type Service struct {
	ChatEndpoint  string        // _chat_endpoint
	ClientTimeout time.Duration // _client_timeout
}

// Admin holds [admin].
type Admin struct {
	// Token authenticates the admin API. Empty means the server generates
	// one when it first starts.
	Token string
}

// ESP holds [esp].
type ESP struct {
	// Token authenticates workflow requests. Empty means the server
	// generates one when it first starts.
	Token string
}

// CORS holds [cors].
type CORS struct {
	// AllowedOrigins lists the browser origins allowed to call the customer
	// endpoints with credentials, and to open the agent socket: exact
	// origins and wildcard host patterns, canonical (lower case), separated
	// by ", ". Empty means any origin without credentials on the customer
	// endpoints and the server's own origin only on the agent socket.
	AllowedOrigins string
}
