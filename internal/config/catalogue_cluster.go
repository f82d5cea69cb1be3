package config

import "time"

// clusterSection is Confab's own [cluster] section: the N+1 cluster of
// nodes sharing a PostgreSQL store ([store] driver = postgres).
func clusterSection() *sectionSpec {
	return &sectionSpec{name: "cluster", opts: []*desc{
		{Option: Option{Name: "lease", Default: "10", Kind: KindSeconds, Min: 1, Max: 3600, Effect: Restart, Implemented: true,
			Doc: "Confab option: how long a node's registration lasts without renewal (renewed every third of it); a node silent for longer is dead and its sessions go to the nodes that need them. Only with [store] driver = postgres."},
			bind: field(func(c *Config) *time.Duration { return &c.Cluster.Lease })},
	}}
}

// Cluster holds Confab's [cluster] section.
type Cluster struct {
	Lease time.Duration
}
