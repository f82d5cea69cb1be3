package config

import (
	"strings"
	"time"
)

// Value sets shared by several options.
var (
	noticeValues = []string{"none", "major", "major2", "typing", "all"}
	pushFields   = []string{"session-id", "user-id", "app-dbid", "secure-key"}
)

// ours marks a default or range the reference does not publish.
const ours = " (Default and range are Confab's choice; the reference does not publish them.)"

func settingsSection() *sectionSpec {
	dur := func(p func(s *Settings) *time.Duration) binding {
		return field(func(c *Config) *time.Duration { return p(&c.Settings) })
	}
	num := func(p func(s *Settings) *int) binding {
		return field(func(c *Config) *int { return p(&c.Settings) })
	}
	flag := func(p func(s *Settings) *bool) binding {
		return field(func(c *Config) *bool { return p(&c.Settings) })
	}
	text := func(p func(s *Settings) *string) binding {
		return field(func(c *Config) *string { return p(&c.Settings) })
	}
	word := func(p func(s *Settings) *string) binding {
		return enumField(func(c *Config) *string { return p(&c.Settings) })
	}
	notices := func(p func(s *Settings) *NoticeSet) binding {
		return enumField(func(c *Config) *NoticeSet { return p(&c.Settings) })
	}
	return &sectionSpec{
		name: "settings",
		legacy: map[string]rename{
			"transcript-cleanup-mask":   {"transcript-cleanup", "default-repchar"},
			"transcript-cleanup-typing": {"transcript-cleanup", "typing-preview"},
			"transcript-cleanup-apply":  {"transcript-cleanup", "apply-area"},
		},
		opts: []*desc{
			{Option: Option{Name: "async-idle-alert", Default: "86400", Kind: KindSeconds, Min: 1, Max: 1728000, Effect: Immediate, Implemented: true,
				Doc: "Async sessions only: quiet time after which an IDLE_CONTROL_ALERT notice goes out and async-idle-close starts."},
				bind: dur(func(s *Settings) *time.Duration { return &s.AsyncIdleAlert })},
			{Option: Option{Name: "async-idle-close", Default: "3600", Kind: KindSeconds, Min: 1, Max: 1728000, Effect: Immediate, Implemented: true,
				Doc: "Async sessions only: time after the idle alert before the session is closed with [inactivity-control] message-close; activity re-arms the alert instead."},
				bind: dur(func(s *Settings) *time.Duration { return &s.AsyncIdleClose })},
			{Option: Option{Name: "async-idle-notices", Default: "major", Kind: KindEnum, Values: noticeValues, Effect: Immediate, Implemented: true,
				Doc: "Notices that count as activity for async idle control: none; major (push URL, file uploaded or deleted); major2 (major and custom); typing (major and typing started); all."},
				bind: notices(func(s *Settings) *NoticeSet { return &s.AsyncIdleNotices })},
			{Option: Option{Name: "attach-session-statistics", Default: "none", Kind: KindEnum, Values: []string{"none", "fired", "all"}, Effect: Immediate, Implemented: true,
				Doc: "Reporting statistics written to the interaction's user data at session end: none, only those that happened (fired), or every one (all)."},
				bind: word(func(s *Settings) *string { return &s.AttachSessionStatistics })},
			{Option: Option{Name: "attach-stats-rep-events", Default: "none", Kind: KindEnum, Values: []string{"none", "dormant", "all"}, Effect: Immediate, Implemented: true,
				Doc: "Async sessions: when intermediate statistics are attached before the session ends: never (none), each time it turns dormant (dormant), or at every agent join and departure (all). Needs attach-stats-rep-place; the statistics are those attach-session-statistics selects, without the close-only keys. (Values and default are Confab's choice; the reference names the option only.)"},
				bind: word(func(s *Settings) *string { return &s.AttachStatsRepEvents })},
			{Option: Option{Name: "attach-stats-rep-place", Default: "none", Kind: KindEnum, Values: []string{"none", "userdata"}, Effect: Immediate, Implemented: true,
				Doc: "Async sessions: where intermediate statistics go: nowhere (none) or the interaction's user data (userdata). Needs attach-stats-rep-events. (Values and default are Confab's choice; the reference names the option only.)"},
				bind: word(func(s *Settings) *string { return &s.AttachStatsRepPlace })},
			{Option: Option{Name: "flex-disconnect-timeout", Default: "45", Kind: KindSeconds, Min: 1, Max: 1728000, Effect: Immediate, Implemented: true,
				Doc: "A customer (flex) participant that makes no request at all for this long is removed; sending messages is not required, any request keeps it."},
				bind: dur(func(s *Settings) *time.Duration { return &s.FlexDisconnectTimeout })},
			{Option: Option{Name: "flex-push-on-join", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Let a customer subscribe to push notifications in the same request that creates the session."},
				bind: flag(func(s *Settings) *bool { return &s.FlexPushOnJoin })},
			{Option: Option{Name: "flex-push-enabled", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Master switch for push notifications to customers." + ours},
				bind: flag(func(s *Settings) *bool { return &s.FlexPushEnabled })},
			{Option: Option{Name: "flex-push-timeout", Default: "300", Kind: KindSeconds, Min: 1, Max: 1728000, Effect: Immediate, Implemented: true,
				Doc: "Replaces flex-disconnect-timeout for push-subscribed customers: after this long without a request the server pings them (logged and counted until push notifications exist); after another period without one, flex-disconnect-timeout starts."},
				bind: dur(func(s *Settings) *time.Duration { return &s.FlexPushTimeout })},
			{Option: Option{Name: "flex-push-content", Default: "session-id,user-id", Kind: KindString, Effect: Immediate, Implemented: true,
				Range: "comma-separated subset of " + strings.Join(pushFields, ", "),
				Doc:   "Identifiers added to the user data of each push notification." + ours},
				parse: parsePushFields,
				bind:  text(func(s *Settings) *string { return &s.FlexPushContent })},
			{Option: Option{Name: "flex-push-resend-attempts", Default: "3", Kind: KindInt, Min: 0, Max: 100, Effect: Immediate, Implemented: true,
				Doc: "How many times an undelivered push notification is sent again when the customer asked for reliable delivery." + ours},
				bind: num(func(s *Settings) *int { return &s.FlexPushResendAttempts })},
			{Option: Option{Name: "flex-push-resend-delay", Default: "30", Kind: KindSeconds, Min: 1, Max: 86400, Effect: Immediate, Implemented: true,
				Doc: "Wait without a refresh from the customer before a push notification is sent again." + ours},
				bind: dur(func(s *Settings) *time.Duration { return &s.FlexPushResendDelay })},
			{Option: Option{Name: "ixn-submittedby-name", Default: "", Kind: KindString, Effect: Restart,
				Doc: "Name the server registers under when it submits interactions; instances sharing a name all receive the processing-stopped events."},
				bind: text(func(s *Settings) *string { return &s.IxnSubmittedByName })},
			{Option: Option{Name: "limits-control-enabled", Default: "true", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Master switch for the load limits (limit-for-*)." + ours},
				bind: flag(func(s *Settings) *bool { return &s.LimitsControlEnabled })},
			{Option: Option{Name: "limit-average-interval", Default: "15", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Immediate, Implemented: true,
				Doc: "Window over which averaged load metrics such as reply delay are computed. (Range is Confab's choice.)"},
				bind: dur(func(s *Settings) *time.Duration { return &s.LimitAverageInterval })},
			{Option: Option{Name: "limit-for-flex-users", Default: "1001", Kind: KindInt, Min: 0, Max: 1000000, Effect: Immediate, Implemented: true,
				Doc: "Most customer (flex) participants logged in at once; at the limit new sessions and logins are refused. 0 switches this limit off (Confab's choice)."},
				bind: num(func(s *Settings) *int { return &s.LimitForFlexUsers })},
			{Option: Option{Name: "limit-for-sessions", Default: "1000", Kind: KindInt, Min: 0, Max: 1000000, Effect: Immediate, Implemented: true,
				Doc: "Most chat sessions alive at once; at the limit new sessions and restorations are refused. 0 switches this limit off (Confab's choice)."},
				bind: num(func(s *Settings) *int { return &s.LimitForSessions })},
			{Option: Option{Name: "limit-for-reply-delay", Default: "0", Kind: KindMillis, Min: 0, Max: 600000, Effect: Immediate, Implemented: true,
				Doc: "Largest average request-processing delay before new sessions are refused; 0 switches this limit off." + ours},
				bind: dur(func(s *Settings) *time.Duration { return &s.LimitForReplyDelay })},
			{Option: Option{Name: "limits-reached-report-scs", Default: "true", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "When a load limit is hit, report the service as unavailable to the management layer; false keeps it reported as available."},
				bind: flag(func(s *Settings) *bool { return &s.LimitsReachedReportSCS })},
			{Option: Option{Name: "limits-restore-threshold", Default: "80", Kind: KindInt, Min: 0, Max: 100, Effect: Immediate, Implemented: true,
				Doc: "Share of a limit a metric must fall below before the server accepts new work again."},
				unit: "percent",
				bind: num(func(s *Settings) *int { return &s.LimitsRestoreThreshold })},
			{Option: Option{Name: "session-restoration-mode", Default: "simple", Kind: KindEnum, Values: []string{"none", "simple"}, Effect: Immediate, Implemented: true,
				Doc: "simple restores the sessions that were live when the node last stopped or crashed (and, in a cluster, those of a failed node); none closes them with their stored transcript. (Default is Confab's choice: the reference's is none; Confab restores by default so a restart loses no chat.)"},
				bind: word(func(s *Settings) *string { return &s.SessionRestorationMode })},
			{Option: Option{Name: "session-restore-do-purge", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "In a cluster, after claiming and restoring a session, ask the node that owned it before (its lease ended, but it may still run) to drop its copy at once, rather than when its next write is refused; that node drops it only if the store names another owner. (The reference sends the purge through Interaction Server; Confab posts it to the node's agent listener.)"},
				bind: flag(func(s *Settings) *bool { return &s.SessionRestoreDoPurge })},
			{Option: Option{Name: "session-restore-extend-by", Default: "none", Kind: KindEnum, Values: []string{"none", "agent", "esp", "both"}, Effect: Immediate, Implemented: true,
				Doc: "Who besides the customer may restore a failed node's session in a cluster: nobody, the agent desktop (agent: a join or accept carrying the session's ChatServerWebapiToken, or a socket that lost the node serving one of its sessions), the workflow (esp: an ESP request with InduceRestore=true), or both. A customer's request always restores."},
				bind: word(func(s *Settings) *string { return &s.SessionRestoreExtendBy })},
			{Option: Option{Name: "session-restore-push-send", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "After a desktop or workflow restoration (session-restore-extend-by), resume the customer's push notifications (as flex-push-on-join allows at creation) and time the customer with flex-push-timeout; false resumes none and times the customer with flex-disconnect-timeout. A customer's own restoration always resumes them."},
				bind: flag(func(s *Settings) *bool { return &s.SessionRestorePushSend })},
			{Option: Option{Name: "session-password-enforce", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Give each new session a random password, attached to the interaction as ChatServerSessionPassword, that later joiners must send as GCTI_Chat_SessionPassword. (Default is Confab's choice.)"},
				bind: flag(func(s *Settings) *bool { return &s.SessionPasswordEnforce })},
			{Option: Option{Name: "stop-abandoned-interaction", Default: "never", Kind: KindEnum, Values: []string{"always", "never", "noagents", "noanswer"}, Effect: Immediate, Implemented: true,
				Doc: "At session end stop the interaction always, never, when no agent is present (noagents) or when no agent ever joined (noanswer); bots are not agents. Legacy false/true read as never/noanswer."},
				legacy: map[string]string{"false": "never", "true": "noanswer"},
				bind:   enumField(func(c *Config) *StopMode { return &c.Settings.StopAbandonedInteraction })},
			{Option: Option{Name: "transcript-auto-save", Default: "1", Kind: KindInt, Min: 0, Max: 2, Range: "one of 0, 1, 2", Effect: Immediate, Implemented: true,
				Doc: "When the transcript is stored: 0 only at session end (and of every live session at a graceful shutdown); 1 after every event, which is acknowledged and shown to the other parties only once durable; 2 like 1 and agents are told about each save. (Default is Confab's choice: the reference's is 0; the group commit makes saving every event cheap, and with 0 a crash loses every live chat.)"},
				bind: num(func(s *Settings) *int { return &s.TranscriptAutoSave })},
			{Option: Option{Name: "transcript-save-on-error", Default: "none", Kind: KindEnum, Values: []string{"none", "close"}, Effect: Immediate, Implemented: true,
				Doc: "When an intermediate event cannot be stored (after transcript-resend-attempts retries): the event is withdrawn in either case (its sender gets an error, no party ever sees it); close then ends the session, its parties removed by the server (reason 5, quit-reason-code 5), and still tries to write the closed record so it is not restored later; none keeps the session going without the event. (Value none and the default are Confab's choice; the reference names only close.)"},
				bind: word(func(s *Settings) *string { return &s.TranscriptSaveOnError })},
			{Option: Option{Name: "transcript-resend-attempts", Default: "3", Kind: KindInt, Min: 0, Max: 100, Effect: Immediate, Implemented: true,
				Doc: "Retries of a failed transcript save (an intermediate event, the interaction's creation or its closed record) whose failure may pass (database unreachable, connection lost, disk refusing writes); the sender is answered, and the other parties see the event, only once a try has stored it. 0 gives up at the first failure." + ours},
				bind: num(func(s *Settings) *int { return &s.TranscriptResendAttempts })},
			{Option: Option{Name: "transcript-resend-delay", Default: "5", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Immediate, Implemented: true,
				Doc: "Pause between retries of a failed transcript save." + ours},
				bind: dur(func(s *Settings) *time.Duration { return &s.TranscriptResendDelay })},
			{Option: Option{Name: "transcript-save-notices", Default: "major", Kind: KindEnum, Values: noticeValues, Effect: Immediate,
				Doc: "Notices kept in the stored transcript, with the same values as async-idle-notices; read confirmations are kept only with all. (Values and default are Confab's choice.)"},
				bind: notices(func(s *Settings) *NoticeSet { return &s.TranscriptSaveNotices })},
			{Option: Option{Name: "user-register-timeout", Default: "30", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Immediate,
				Doc: "Longest a new connection may stay open before its first protocol request; idle connections are closed. (Range and effect are Confab's choice.)"},
				bind: dur(func(s *Settings) *time.Duration { return &s.UserRegisterTimeout })},
			{Option: Option{Name: "xml-request-max-size", Default: "32768", Kind: KindInt, Min: 200, Max: 2147482624, Effect: Immediate, Implemented: true,
				Doc: "Largest request body or WebSocket frame Confab reads; bigger input is refused before it is parsed. (The reference applies it to XML packets.)"},
				unit: "bytes",
				bind: num(func(s *Settings) *int { return &s.XMLRequestMaxSize })},
			{Option: Option{Name: "message-log-print-size", Default: "0", Kind: KindInt, Min: 0, Max: 1048576, Effect: Immediate, Implemented: true,
				Doc: "How much of a chat message's text appears in the log; 0 logs only its length." + ours},
				unit: "characters",
				bind: num(func(s *Settings) *int { return &s.MessageLogPrintSize })},
			{Option: Option{Name: "hide-attached-data", Default: "true", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Mask user-data values in the log ([log-filter-data] refines this per key)." + ours},
				bind: flag(func(s *Settings) *bool { return &s.HideAttachedData })},
			{Option: Option{Name: "allow-duplicated-kvp", Default: "true", Kind: KindBool, Effect: Immediate,
				Doc: "Let one key appear more than once in user data. (Meaning inferred; default taken from a reference configuration sample.)"},
				bind: flag(func(s *Settings) *bool { return &s.AllowDuplicatedKVP })},
			{Option: Option{Name: "connection-down-report-scs", Default: "true", Kind: KindBool, Effect: Immediate,
				Doc: "Report the loss of a required connection to the management layer. (Meaning inferred; default taken from a reference configuration sample.)"},
				bind: flag(func(s *Settings) *bool { return &s.ConnectionDownReportSCS })},
			{Option: Option{Name: "closed-session-grace", Default: "60", Kind: KindSeconds, Min: 1, Max: 86400, Effect: Immediate, Implemented: true,
				Doc: "Confab extension, not a reference option: how long a closed session stays in memory so the customer can still read its final transcript."},
				bind: dur(func(s *Settings) *time.Duration { return &s.ClosedSessionGrace })},
		},
	}
}

// parsePushFields accepts a comma-separated list of push identifiers and
// returns it without blanks or repeats.
func parsePushFields(raw string) (any, bool) {
	var out []string
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		known := false
		for _, p := range pushFields {
			known = known || f == p
		}
		if !known {
			return nil, false
		}
		dup := false
		for _, o := range out {
			dup = dup || o == f
		}
		if !dup {
			out = append(out, f)
		}
	}
	return strings.Join(out, ","), true
}
