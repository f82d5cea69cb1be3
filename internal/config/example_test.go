package config_test

import (
	"fmt"

	"github.com/confab/confab/internal/config"
)

func ExampleParse() {
	src := `
[settings]
flex-disconnect-timeout = 300
transcript-auto-save = 1
limit-for-sesions = 10

[endpoints:1]
default = Chat In
`
	c, warnings, err := config.Parse("confab.ini", []byte(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warnings {
		fmt.Println(w)
	}
	fmt.Println(c.Settings.FlexDisconnectTimeout, c.Settings.TranscriptAutoSave)
	// Output:
	// confab.ini:5: [settings] limit-for-sesions: unknown option, ignored; did you mean limit-for-sessions?
	// 5m0s 1
}

func ExampleConfig_ResolveEndpoint() {
	c := config.Default()
	tenant, endpoint, queue, err := c.ResolveEndpoint(c.ServiceEndpoint("customer-support"))
	fmt.Println(tenant, endpoint, queue, err)
	_, _, _, err = c.ResolveEndpoint("Acme:default")
	fmt.Println(err)
	// Output:
	// 1 default default <nil>
	// config: endpoint "Acme:default": tenant "Acme" is neither a numeric id nor a name in [tenants]
}
