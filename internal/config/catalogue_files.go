package config

import (
	"net/url"
	"strings"
	"time"
)

// Documents holds [documents], Confab's own options for stored files.
type Documents struct {
	AgentUploadMaxSize int           // bytes; the operator's limit on agent uploads
	Retention          time.Duration // 0 = documents are kept
}

// Push holds [push], the gateway's push-notification options and Confab's
// delivery settings.
type Push struct {
	CustomHTTPURL    string // customhttp.url; "" = no push delivery
	Enabled          string // pushEnabled: comma-separated transports
	DeliveryAttempts int
	DeliveryBackoff  time.Duration
	DeliveryTimeout  time.Duration
	QueueSize        int
}

// Has reports whether transport (e.g. "customhttp") is listed in
// pushEnabled.
func (p Push) Has(transport string) bool {
	for t := range strings.SplitSeq(p.Enabled, ",") {
		if strings.EqualFold(strings.TrimSpace(t), transport) {
			return true
		}
	}
	return false
}

const confabOwn = " (Confab's own option.)"

func documentsSection() *sectionSpec {
	return &sectionSpec{name: "documents", opts: []*desc{
		{Option: Option{Name: "agent-upload-max-size", Default: "268435456", Kind: KindInt, Min: 0, Max: 4294967296, Effect: Immediate, Implemented: true,
			Doc: "Largest document an agent may upload (POST /agent/v1/documents); the customer limits do not apply to agents." + confabOwn},
			unit: "bytes",
			bind: field(func(c *Config) *int { return &c.Documents.AgentUploadMaxSize })},
		{Option: Option{Name: "retention", Default: "0", Kind: KindSeconds, Min: 0, Max: 315360000, Effect: Immediate, Implemented: true,
			Doc: "Age after which stored documents are deleted, checked hourly; 0 keeps them." + confabOwn},
			bind: field(func(c *Config) *time.Duration { return &c.Documents.Retention })},
	}}
}

func pushSection() *sectionSpec {
	return &sectionSpec{name: "push", opts: []*desc{
		{Option: Option{Name: "customhttp.url", Default: "", Kind: KindString, Effect: Immediate, Implemented: true,
			Range: "absolute http or https URL, or empty",
			Doc:   "Gateway option: where custom-HTTP push notifications are POSTed; empty sends none."},
			parse: parsePushURL,
			bind:  field(func(c *Config) *string { return &c.Push.CustomHTTPURL })},
		{Option: Option{Name: "pushEnabled", Default: "customhttp", Kind: KindString, Effect: Immediate, Implemented: true,
			Range: "comma-separated transports (comet, customhttp, ...)",
			Doc:   "Gateway option: the push transports in use; Confab delivers customhttp only, and only when it is listed. (Default is Confab's choice.)"},
			bind: field(func(c *Config) *string { return &c.Push.Enabled })},
		{Option: Option{Name: "delivery-attempts", Default: "5", Kind: KindInt, Min: 1, Max: 100, Effect: Immediate, Implemented: true,
			Doc: "Tries of one push POST (the first and the retries) before it is given up." + confabOwn},
			bind: field(func(c *Config) *int { return &c.Push.DeliveryAttempts })},
		{Option: Option{Name: "delivery-backoff", Default: "1", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Immediate, Implemented: true,
			Doc: "Wait before the first retry of a failed push POST; it doubles with each retry, up to 64 times this." + confabOwn},
			bind: field(func(c *Config) *time.Duration { return &c.Push.DeliveryBackoff })},
		{Option: Option{Name: "delivery-timeout", Default: "10", Kind: KindSeconds, Min: 1, Max: 300, Effect: Immediate, Implemented: true,
			Doc: "Time one push POST may take before it counts as failed." + confabOwn},
			bind: field(func(c *Config) *time.Duration { return &c.Push.DeliveryTimeout })},
		{Option: Option{Name: "queue-size", Default: "1000", Kind: KindInt, Min: 1, Max: 1000000, Effect: Restart, Implemented: true,
			Doc: "Most push notifications waiting for one destination; more are dropped and counted." + confabOwn},
			bind: field(func(c *Config) *int { return &c.Push.QueueSize })},
	}}
}

// parsePushURL accepts "" or an absolute http(s) URL with a host.
func parsePushURL(raw string) (any, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", true
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return raw, true
}
