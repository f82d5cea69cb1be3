package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/masking"
	"github.com/confab/confab/internal/pii"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/store/sqlite"
)

const piiUsage = `usage:
  confab pii list   [--data-dir DIR] [--config FILE]
  confab pii add    [--data-dir DIR] --id ID --name NAME [--description TEXT] [--spec SPEC] [--min-digit-run N] PATTERN
  confab pii remove [--data-dir DIR] ID
  confab pii test   [--data-dir DIR] [--config FILE] TEXT

Rules added here are the stored ([transcript-cleanup] apply-config ucs or mix)
masking rules, applied after the ones before them. PATTERN is a Perl-5-style
regular expression; SPEC is all, digits or digits-keep-last-N (default: the
configured default-spec). A running server applies changes made here on its
next reload (SIGHUP); changes made through the admin API apply at once.
`

// piiCmd manages the stored masking rules of a data directory and tries the
// rules in force on a text.
func piiCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, piiUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("pii "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "confab-data", "`directory` of the server's store")
	var configPath, id, name, desc, spec *string
	var minRun *int
	wantArgs := 1
	switch args[0] {
	case "list":
		wantArgs = 0
		configPath = fs.String("config", "", "INI `file` whose [transcript-cleanup] selects the rules in force")
	case "test":
		configPath = fs.String("config", "", "INI `file` whose [transcript-cleanup] selects the rules in force")
	case "add":
		id = fs.String("id", "", "rule `id` (unique)")
		name = fs.String("name", "", "rule `name`")
		desc = fs.String("description", "", "rule `description`")
		spec = fs.String("spec", "", "replacement `spec`: all, digits or digits-keep-last-N")
		minRun = fs.Int("min-digit-run", 0, "pre-filter: every match holds a digit run at least this long (0: none)")
	case "remove":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, piiUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "confab pii: unknown subcommand %q\n%s", args[0], piiUsage)
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if fs.NArg() != wantArgs {
		fmt.Fprint(stderr, piiUsage)
		return errUsage
	}
	cfg := config.Default()
	if configPath != nil && *configPath != "" {
		var err error
		if cfg, _, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, *dataDir, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open the store in %s: %w", *dataDir, err)
	}
	defer st.Close(context.Background())
	rows, err := st.ListPIIRules(ctx)
	if err != nil {
		return fmt.Errorf("read the stored rules: %w", err)
	}
	stored := masking.FromStore(rows)

	switch args[0] {
	case "list":
		return piiList(stored, cfg, stdout)
	case "test":
		p, err := masking.Build(cfg.Cleanup, stored, 0, nil)
		if err != nil {
			return err
		}
		text := fs.Arg(0)
		var hits []pii.Hit
		if p.Rules != nil {
			text, hits, _ = p.Rules.Mask(text)
		}
		fmt.Fprintln(stdout, text)
		for _, h := range hits {
			fmt.Fprintf(stdout, "  rule %s (%s): characters %d-%d, replaced %s\n", h.ID, h.Name, h.Start, h.End, h.Replaced())
		}
		if p.Rules == nil {
			fmt.Fprintf(stdout, "  no rules in force (apply-config=%s with no stored rules)\n", cfg.Cleanup.ApplyConfig)
		}
		return nil
	case "add":
		r := pii.Rule{ID: *id, Name: *name, Description: *desc, Pattern: fs.Arg(0), Spec: *spec, MinDigitRun: *minRun}
		for _, s := range stored {
			if s.ID == r.ID {
				return fmt.Errorf("rule %q already exists", r.ID)
			}
		}
		if err := masking.Check(stored, r); err != nil {
			return err
		}
		if err := st.AddPIIRule(ctx, store.PIIRule{ID: r.ID, Name: r.Name, Description: r.Description,
			Pattern: r.Pattern, Spec: r.Spec, MinDigitRun: r.MinDigitRun}); err != nil {
			return fmt.Errorf("add rule %s: %w", r.ID, err)
		}
		fmt.Fprintf(stdout, "rule %s (%s) added as number %d; reload the server (SIGHUP) to apply it\n", r.ID, r.Name, len(stored)+1)
		return nil
	default:
		ruleID := fs.Arg(0)
		if err := st.RemovePIIRule(ctx, ruleID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no stored rule %q", ruleID)
			}
			return fmt.Errorf("remove rule %s: %w", ruleID, err)
		}
		fmt.Fprintf(stdout, "rule %s removed; reload the server (SIGHUP) to apply it\n", ruleID)
		return nil
	}
}

func piiList(stored []pii.Rule, cfg *config.Config, stdout io.Writer) error {
	src, err := pii.ParseConfig(cfg.Cleanup.ApplyConfig)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tID\tNAME\tSPEC\tPATTERN")
	for _, r := range stored {
		fmt.Fprintf(tw, "stored\t%s\t%s\t%s\t%s\n", r.ID, r.Name, specOr(r.Spec, cfg), r.Pattern)
	}
	for _, r := range pii.Defaults() {
		fmt.Fprintf(tw, "built-in\t%s\t%s\t%s\t%s\n", r.ID, r.Name, specOr(r.Spec, cfg), r.Pattern)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	inForce := "built-in"
	switch rules := src.Select(stored); {
	case len(rules) == 0:
		inForce = "none"
	case len(stored) > 0 && src != pii.ConfigCfg:
		inForce = "stored"
	}
	fmt.Fprintf(stdout, "in force (apply-config=%s, apply-area=%s): %s rules\n", cfg.Cleanup.ApplyConfig, cfg.Cleanup.ApplyArea, inForce)
	return nil
}

func specOr(spec string, cfg *config.Config) string {
	if spec == "" {
		return cfg.Cleanup.DefaultSpec + " (default-spec)"
	}
	return spec
}
