package masking_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/masking"
	"github.com/confab/confab/internal/pii"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

func open(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

func cleanup(mod func(*config.Cleanup)) config.Cleanup {
	c := config.Default().Cleanup
	c.ApplyArea = "always"
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestApplyAndRuleChanges(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	var installed []*pii.Policy
	m := masking.New(masking.Options{Rules: st, Install: func(p *pii.Policy) { installed = append(installed, p) }})
	if err := m.Apply(ctx, cleanup(nil)); err != nil {
		t.Fatal(err)
	}
	if p := m.Policy(); p.Rules.Len() != 3 || p.Area != pii.Always || len(installed) != 1 {
		t.Fatalf("mix without stored rules: %+v", p)
	}
	// A bad rule is refused with its position; nothing is stored or installed.
	err := m.Add(ctx, pii.Rule{ID: "x", Name: "X", Pattern: `a(b`})
	var re *pii.RuleError
	if !errors.As(err, &re) || re.Pos != 1 || !errors.Is(err, masking.ErrInvalid) {
		t.Fatalf("bad rule: %v", err)
	}
	if rows, _ := st.ListPIIRules(ctx); len(rows) != 0 || len(installed) != 1 {
		t.Fatalf("a refused rule was stored or installed: %v", rows)
	}
	if err := m.Add(ctx, pii.Rule{ID: "acct", Name: "Account", Pattern: `ACC-\d{6}`, Spec: "all"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ctx, pii.Rule{ID: "acct", Name: "Again", Pattern: `y`}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if got, _ := m.Test("ACC-123456 4111111111111111"); got != "********** 4111111111111111" {
		t.Fatalf("mix with a stored rule: %q", got)
	}
	// The options: cfg ignores the stored rules; a reload with a bad
	// default-spec keeps the last good policy.
	if err := m.Apply(ctx, cleanup(func(c *config.Cleanup) { c.ApplyConfig = "cfg" })); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Test("ACC-123456 4111111111111111"); got != "ACC-123456 ****************" {
		t.Fatalf("cfg: %q", got)
	}
	good := m.Policy()
	if err := m.Apply(ctx, cleanup(func(c *config.Cleanup) { c.DefaultSpec = "half" })); err == nil || m.Policy() != good {
		t.Fatalf("bad default-spec: %v; policy replaced %v", err, m.Policy() != good)
	}
	if err := m.Remove(ctx, "acct"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "acct"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
}

// A stored rule that no longer compiles (edited in the database) is refused
// at start, naming it; the built-in rules apply instead of none.
func TestBadStoredRuleAtStart(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if err := st.AddPIIRule(ctx, store.PIIRule{ID: "bad", Name: "Bad", Pattern: `[oops`}); err != nil {
		t.Fatal(err)
	}
	m := masking.New(masking.Options{Rules: st})
	err := m.Apply(ctx, cleanup(nil))
	if err == nil || !strings.Contains(err.Error(), `pii rule 1 (id "bad", name "Bad"): pattern at position 0: unclosed [`) {
		t.Fatalf("err = %v", err)
	}
	if p := m.Policy(); p == nil || p.Rules.Len() != 3 || p.Rules.Rules()[0].Name != "GCTI_CreditCards" {
		t.Fatalf("policy after a bad start: %+v", p)
	}
}

func TestTimeoutsCounted(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	m := masking.New(masking.Options{Rules: st, Timeout: 1})
	if err := m.Add(ctx, pii.Rule{ID: "slow", Name: "Slow", Pattern: `(a|aa)+$`}); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, cleanup(nil)); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("a", 40000) + "!"
	if got, _ := m.Test(text); got != text || m.Timeouts() != 1 {
		t.Fatalf("timeouts %d", m.Timeouts())
	}
}
