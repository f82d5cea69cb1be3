package cluster

// ShareOf exposes the takeover's partition to the external tests.
func ShareOf(sessionID string, takers []string) string { return shareOf(sessionID, takers) }
