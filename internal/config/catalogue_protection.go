package config

import (
	"net/netip"
	"strings"
	"time"
)

// protectionSection is Confab's own [protection] section: the limits that
// keep one customer, script or slow client from hurting the node. The
// reference has no such section; every option here is Confab's, and every
// default is one a public deployment can keep.
func protectionSection() *sectionSpec {
	flag := func(p func(s *Protection) *bool) binding {
		return field(func(c *Config) *bool { return p(&c.Protection) })
	}
	num := func(p func(s *Protection) *int) binding {
		return field(func(c *Config) *int { return p(&c.Protection) })
	}
	dur := func(p func(s *Protection) *time.Duration) binding {
		return field(func(c *Config) *time.Duration { return p(&c.Protection) })
	}
	text := func(p func(s *Protection) *string) binding {
		return field(func(c *Config) *string { return p(&c.Protection) })
	}
	return &sectionSpec{name: "protection", opts: []*desc{
		{Option: Option{Name: "allow-any-service", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
			Doc: "Let the customer API start chats on any service name, each entering [chat] default_chat_endpoint (for demos). " +
				"Off, only the services the configuration names are served: one per [chat.<service>] section, or " + DefaultService + " when there is none."},
			bind: flag(func(s *Protection) *bool { return &s.AllowAnyService })},
		{Option: Option{Name: "session-max-messages", Default: "5000", Kind: KindInt, Min: 0, Max: 10000000, Effect: Immediate, Implemented: true,
			Doc: "Most messages and notices the parties of one session may send (0: no limit); past it a send is refused and every party gets one notice; the session goes on."},
			bind: num(func(s *Protection) *int { return &s.SessionMaxMessages })},
		{Option: Option{Name: "session-max-transcript-bytes", Default: "8388608", Kind: KindInt, Min: 0, Max: 1 << 30, Effect: Immediate, Implemented: true,
			Doc: "Most bytes of text, attributes and user data the parties of one session may send (0: no limit); refused and noticed like session-max-messages."},
			bind: num(func(s *Protection) *int { return &s.SessionMaxBytes })},
		{Option: Option{Name: "party-send-rate", Default: "5", Kind: KindInt, Min: 0, Max: 100000, Effect: Immediate, Implemented: true,
			Doc: "Sustained messages and notices per second one party of a session may send (0: no limit); faster sends are refused with each protocol's rate-limit error."},
			bind: num(func(s *Protection) *int { return &s.PartySendRate })},
		{Option: Option{Name: "party-send-burst", Default: "20", Kind: KindInt, Min: 1, Max: 100000, Effect: Immediate, Implemented: true,
			Doc: "How many sends one party may make at once before party-send-rate applies (the token bucket's size)."},
			bind: num(func(s *Protection) *int { return &s.PartySendBurst })},
		{Option: Option{Name: "chat-create-rate", Default: "30", Kind: KindInt, Min: 0, Max: 1000000, Effect: Immediate, Implemented: true,
			Doc: "New chats per minute one client address may start (0: no limit); over it request chat is refused with HTTP 429."},
			bind: num(func(s *Protection) *int { return &s.ChatCreateRate })},
		{Option: Option{Name: "chat-create-burst", Default: "10", Kind: KindInt, Min: 1, Max: 1000000, Effect: Immediate, Implemented: true,
			Doc: "How many chats one client address may start at once before chat-create-rate applies."},
			bind: num(func(s *Protection) *int { return &s.ChatCreateBurst })},
		{Option: Option{Name: "trusted-proxies", Default: "", Kind: KindString, Range: "comma-separated IP addresses or CIDR prefixes", Effect: Immediate, Implemented: true,
			Doc: "Proxies whose X-Forwarded-For is believed: a request from one of them is counted against the client address it forwards (the nearest untrusted one); from anyone else the header is ignored."},
			bind: text(func(s *Protection) *string { return &s.TrustedProxies })},
		{Option: Option{Name: "push-connections-per-party", Default: "4", Kind: KindInt, Min: 1, Max: 1000, Effect: Immediate, Implemented: true,
			Doc: "Most push (WebSocket) connections one customer may hold; a new one replaces the oldest, which is closed with code 4009."},
			bind: num(func(s *Protection) *int { return &s.PushPerParty })},
		{Option: Option{Name: "push-connect-rate", Default: "60", Kind: KindInt, Min: 0, Max: 1000000, Effect: Immediate, Implemented: true,
			Doc: "Push WebSockets per minute one customer may open (0: no limit), in bursts of push-connections-per-party + 10; over it the handshake is refused with HTTP 429 before the upgrade."},
			bind: num(func(s *Protection) *int { return &s.PushConnectRate })},
		{Option: Option{Name: "cometd-handshake-rate", Default: "60", Kind: KindInt, Min: 0, Max: 1000000, Effect: Immediate, Implemented: true,
			Doc: "CometD handshakes per minute one client address may make (0: no limit); over it the handshake is refused with Bayeux error 429 and advice to handshake again after a minute."},
			bind: num(func(s *Protection) *int { return &s.CometdHandshakeRate })},
		{Option: Option{Name: "cometd-handshake-burst", Default: "20", Kind: KindInt, Min: 1, Max: 1000000, Effect: Immediate, Implemented: true,
			Doc: "How many CometD handshakes one client address may make at once before cometd-handshake-rate applies."},
			bind: num(func(s *Protection) *int { return &s.CometdHandshakeBurst })},
		{Option: Option{Name: "cometd-clients-per-address", Default: "100", Kind: KindInt, Min: 0, Max: 1000000, Effect: Immediate, Implemented: true,
			Doc: "Most live CometD clients (handshakes not yet expired or disconnected) one client address may hold (0: no limit); a handshake past it is refused with Bayeux error 429. The clients that follow one chat's customer are bounded by push-connections-per-party: a new one replaces the oldest (error 409, advice reconnect none)."},
			bind: num(func(s *Protection) *int { return &s.CometdClientsPerAddr })},
		{Option: Option{Name: "header-timeout", Default: "10", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Restart, Implemented: true,
			Doc: "Time a client has to send a request's headers, on every listener."},
			bind: dur(func(s *Protection) *time.Duration { return &s.HeaderTimeout })},
		{Option: Option{Name: "body-timeout", Default: "30", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Restart, Implemented: true,
			Doc: "Time a client has to send a request's body once its headers are in, on every listener, plus one second for every body-min-rate bytes it has sent; a client that stops sending, or sends slower than body-min-rate, is cut off."},
			bind: dur(func(s *Protection) *time.Duration { return &s.BodyTimeout })},
		{Option: Option{Name: "body-min-rate", Default: "16384", Kind: KindInt, Min: 0, Max: 1 << 30, Effect: Restart, Implemented: true,
			Doc: "Bytes per second a request's body must keep arriving at, on every listener: each body-min-rate bytes received extend body-timeout by one second, so a large upload (agent-upload-max-size) on a slow link is not cut off while it makes progress (0: body-timeout bounds the whole body)."},
			bind: num(func(s *Protection) *int { return &s.BodyMinRate })},
		{Option: Option{Name: "write-timeout", Default: "30", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Restart, Implemented: true,
			Doc: "Time an answer may take to be written to a client (added to a long poll's wait); streams and WebSockets bound each write instead."},
			bind: dur(func(s *Protection) *time.Duration { return &s.WriteTimeout })},
		{Option: Option{Name: "idle-timeout", Default: "120", Kind: KindSeconds, Min: 1, Max: 86400, Effect: Restart, Implemented: true,
			Doc: "How long a kept-alive connection may sit idle between requests."},
			bind: dur(func(s *Protection) *time.Duration { return &s.IdleTimeout })},
		{Option: Option{Name: "max-header-bytes", Default: "65536", Kind: KindInt, Min: 4096, Max: 1 << 20, Effect: Restart, Implemented: true,
			Doc: "Largest request line and headers accepted, on every listener; the customer API also counts the query string against xml-request-max-size."},
			bind: num(func(s *Protection) *int { return &s.MaxHeaderBytes })},
		{Option: Option{Name: "contact-attributes", Default: "FirstName,LastName,Title,EmailAddress,PhoneNumber", Kind: KindString, Range: "comma-separated attribute names", Effect: Immediate, Implemented: true,
			Doc: "The user-data keys that become attributes of a contact created for a chat; every other key stays in the interaction's user data only."},
			bind: text(func(s *Protection) *string { return &s.ContactAttributes })},
	}}
}

// DefaultService is the customer service a configuration without any
// [chat.<service>] section serves: the vendor widget's default name.
const DefaultService = "customer-support"

// Protection holds Confab's [protection] section.
type Protection struct {
	AllowAnyService    bool // serve every service name on the default endpoint
	SessionMaxMessages int  // 0: no limit
	SessionMaxBytes    int  // 0: no limit
	PartySendRate      int  // sends per second; 0: no limit
	PartySendBurst     int
	ChatCreateRate     int // chats per minute per client address; 0: no limit
	ChatCreateBurst    int
	TrustedProxies     string // see Proxies
	PushPerParty       int
	PushConnectRate    int // push WebSockets opened per minute per customer; 0: no limit
	// CometD: handshakes per minute per client address (0: no limit), their
	// burst, and live clients per address (0: no limit).
	CometdHandshakeRate  int
	CometdHandshakeBurst int
	CometdClientsPerAddr int
	HeaderTimeout        time.Duration
	BodyTimeout          time.Duration
	BodyMinRate          int // bytes per second that extend BodyTimeout; 0: none
	WriteTimeout         time.Duration
	IdleTimeout          time.Duration
	MaxHeaderBytes       int
	ContactAttributes    string // see ContactAttributeNames
}

// Proxies returns trusted-proxies as prefixes (a bare address is a /32 or
// /128) and the entries that do not parse.
func (p Protection) Proxies() (prefixes []netip.Prefix, bad []string) {
	for _, f := range splitList(p.TrustedProxies) {
		if pr, err := netip.ParsePrefix(f); err == nil {
			prefixes = append(prefixes, pr.Masked())
		} else if a, err := netip.ParseAddr(f); err == nil {
			prefixes = append(prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		} else {
			bad = append(bad, f)
		}
	}
	return prefixes, bad
}

// ContactAttributeNames returns contact-attributes as a list.
func (p Protection) ContactAttributeNames() []string { return splitList(p.ContactAttributes) }

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// protectionWarnings reports trusted-proxies entries that do not parse.
func (c *Config) protectionWarnings() []Warning {
	var warns []Warning
	if _, bad := c.Protection.Proxies(); len(bad) > 0 {
		warns = append(warns, Warning{Section: "protection", Option: "trusted-proxies",
			Message: "ignoring entries that are neither an IP address nor a CIDR prefix: " + strings.Join(bad, ", ")})
	}
	return warns
}

// Serves reports whether the customer API serves the named service: it has
// a [chat.<service>] section, or there is no such section at all and it is
// DefaultService, or [protection] allow-any-service is on.
func (c *Config) Serves(service string) bool {
	if c.Protection.AllowAnyService {
		return true
	}
	if len(c.Services) == 0 {
		return service == DefaultService
	}
	_, ok := c.Services[service]
	return ok
}
