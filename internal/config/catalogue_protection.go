package config

// protectionSection is Confab's own [protection] section: the limits that
// keep one customer, script or slow client from hurting the node. The
// reference has no such section; every option here is Confab's.
func protectionSection() *sectionSpec {
	flag := func(p func(s *Protection) *bool) binding {
		return field(func(c *Config) *bool { return p(&c.Protection) })
	}
	return &sectionSpec{name: "protection", opts: []*desc{
		{Option: Option{Name: "allow-any-service", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
			Doc: "Confab option: let the customer API start chats on any service name, each entering [chat] default_chat_endpoint (for demos). " +
				"Off, only the services the configuration names are served: one per [chat.<service>] section, or " + DefaultService + " when there is none."},
			bind: flag(func(s *Protection) *bool { return &s.AllowAnyService })},
	}}
}

// DefaultService is the customer service a configuration without any
// [chat.<service>] section serves: the vendor widget's default name.
const DefaultService = "customer-support"

// Protection holds Confab's [protection] section.
type Protection struct {
	// AllowAnyService serves every service name on the default endpoint.
	AllowAnyService bool
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
