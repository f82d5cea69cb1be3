package config

// storeSection is Confab's own [store] section: which database a node keeps
// its data in. The reference's servers use the vendor's configuration
// server and database; these options are Confab's.
func storeSection() *sectionSpec {
	return &sectionSpec{name: "store", opts: []*desc{
		{Option: Option{Name: "driver", Default: StoreSQLite, Kind: KindEnum, Values: []string{StoreSQLite, StorePostgres}, Effect: Restart, Implemented: true,
			Doc: "Confab option: sqlite keeps everything in one file in the data directory (one node); postgres uses the PostgreSQL database named by dsn, which the nodes of a cluster share."},
			bind: field(func(c *Config) *string { return &c.Store.Driver })},
		{Option: Option{Name: "dsn", Default: "", Kind: KindSecret, Effect: Restart, Implemented: true,
			Doc: "Confab option: the PostgreSQL connection string (postgres://user:password@host:port/database?sslmode=...) for driver postgres; the command line's --store-dsn overrides it. Never printed."},
			bind: field(func(c *Config) *string { return &c.Store.DSN })},
	}}
}

// Store drivers.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// Store holds Confab's [store] section.
type Store struct {
	Driver string // StoreSQLite or StorePostgres
	DSN    string // PostgreSQL connection string
}
