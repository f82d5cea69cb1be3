package config

import (
	"fmt"
	"strings"
	"time"
)

// ResolveEndpoint turns an endpoint reference such as "Environment:default"
// or "1:webme" into the tenant id, the endpoint name and the queue the
// endpoint feeds. The part before the first ':' is a tenant name from
// [tenants] or a numeric tenant id; the rest is an option name of
// [endpoints:<tenant id>]. The error says which part is missing.
func (c *Config) ResolveEndpoint(tenantAndEndpoint string) (tenantID, endpoint, queue string, err error) {
	tenantID, endpoint, queue, why := c.resolve(tenantAndEndpoint)
	if why != "" {
		return "", "", "", fmt.Errorf("config: endpoint %q: %s", tenantAndEndpoint, why)
	}
	return tenantID, endpoint, queue, nil
}

// resolve does the work of ResolveEndpoint; why explains a failure.
func (c *Config) resolve(ref string) (tenantID, endpoint, queue, why string) {
	tenant, endpoint, ok := cutEndpoint(ref)
	if !ok {
		return "", "", "", "want <tenant name or id>:<endpoint name>"
	}
	if id, ok := positiveID(tenant); ok {
		tenantID = id
	} else if id, ok := c.Tenants[tenant]; ok {
		tenantID = id
	} else {
		return "", "", "", fmt.Sprintf("tenant %q is neither a numeric id nor a name in [tenants]", tenant)
	}
	eps, ok := c.Endpoints[tenantID]
	if !ok {
		return "", "", "", fmt.Sprintf("no [endpoints:%s] section for tenant %s", tenantID, tenant)
	}
	queue, ok = eps[endpoint]
	if !ok {
		return "", "", "", fmt.Sprintf("no endpoint %q in [endpoints:%s]", endpoint, tenantID)
	}
	return tenantID, endpoint, queue, ""
}

// cutEndpoint splits "tenant:endpoint"; both parts must be non-empty.
func cutEndpoint(s string) (tenant, endpoint string, ok bool) {
	tenant, endpoint, ok = strings.Cut(s, ":")
	return tenant, endpoint, ok && tenant != "" && endpoint != ""
}

// ServiceEndpoint returns the endpoint reference new chats of the named
// customer service enter: _chat_endpoint of [chat.<serviceName>] when that
// section sets it, otherwise [chat] default_chat_endpoint.
func (c *Config) ServiceEndpoint(serviceName string) string {
	if s, ok := c.Services[serviceName]; ok && s.ChatEndpoint != "" {
		return s.ChatEndpoint
	}
	return c.Chat.DefaultChatEndpoint
}

// ServiceClientTimeout returns _client_timeout of [chat.<serviceName>]
// when that section sets it, otherwise the [chat] value.
func (c *Config) ServiceClientTimeout(serviceName string) time.Duration {
	if s, ok := c.Services[serviceName]; ok && s.ClientTimeout != 0 {
		return s.ClientTimeout
	}
	return c.Chat.ClientTimeout
}

// Validate checks how options fit together and returns what looks wrong
// as warnings, none of which stops the server: endpoint references that
// do not resolve, limits that contradict each other, and settings that
// have no effect. Parse calls it; the warnings it returns carry no file
// name or line.
func (c *Config) Validate() []Warning {
	var warns []Warning
	add := func(section, option, format string, args ...any) {
		warns = append(warns, Warning{Section: section, Option: option, Message: fmt.Sprintf(format, args...)})
	}
	if _, _, _, why := c.resolve(c.Chat.DefaultChatEndpoint); why != "" {
		add("chat", "default_chat_endpoint", "%q does not resolve: %s", c.Chat.DefaultChatEndpoint, why)
	}
	for _, name := range sortedKeys(c.Services) {
		if ep := c.Services[name].ChatEndpoint; ep != "" {
			if _, _, _, why := c.resolve(ep); why != "" {
				add("chat."+name, "_chat_endpoint", "%q does not resolve: %s", ep, why)
			}
		}
	}
	warns = append(warns, c.protectionWarnings()...)
	s := c.Settings
	if s.LimitForSessions > 0 && s.LimitForFlexUsers > 0 && s.LimitForSessions > s.LimitForFlexUsers {
		add("settings", "limit-for-sessions", "is %d, above limit-for-flex-users %d; the smaller limit is reached first",
			s.LimitForSessions, s.LimitForFlexUsers)
	}
	if s.SessionRestorationMode == "simple" && s.TranscriptAutoSave == 0 {
		add("settings", "session-restoration-mode", "with transcript-auto-save 0 only a graceful shutdown stores the live sessions; after a crash they cannot be restored")
	}
	if f := c.FileTransfer; f.UploadMaxFileSize > f.UploadMaxTotalSize {
		add("client-file-transfer", "upload-max-file-size", "is %d, above upload-max-total-size %d; no file can be larger than the total",
			f.UploadMaxFileSize, f.UploadMaxTotalSize)
	}
	return warns
}
