package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// drainCmd asks a cluster node (its agent listener, where the admin API
// is) to drain: it stops taking new chats (/readyz 503) and hands its live
// chats to the other nodes. It prints the node's answer, then polls its
// progress until the node holds no live chat and the store names it the
// owner of none (the others took them over, or they ended), or --wait ends.
func drainCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "base `URL` of the node's agent listener (admin API), e.g. http://127.0.0.1:8080")
	token := fs.String("token", "", "the node's admin `token`")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the node's last chat to be taken over or to end")
	every := fs.Duration("every", time.Second, "how often to report progress")
	if err := fs.Parse(args); err != nil || *base == "" || *token == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: confab drain --url AGENT_URL --token ADMIN_TOKEN [--wait 10m] [--every 1s]")
		return errUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	call := func(method string) (map[string]any, error) {
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*base, "/")+"/api/v1/drain", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("drain: %w", err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, fmt.Errorf("drain: HTTP %d: %w", resp.StatusCode, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("drain: HTTP %d: %v", resp.StatusCode, out)
		}
		return out, nil
	}
	out, err := call(http.MethodPost)
	for err == nil {
		fmt.Fprintf(stdout, "node %v: draining, %v handed over, %v live chats, %v still owned\n", out["node"], out["handedOver"], out["live"], out["owned"])
		live, _ := out["live"].(float64)
		owned, _ := out["owned"].(float64) // not yet taken over by another node
		if live == 0 && owned == 0 {
			fmt.Fprintln(stdout, "drained: SIGTERM stops it at once")
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %v live chats (%v still owned) remain after %v", out["live"], out["owned"], *wait)
		case <-time.After(*every):
		}
		out, err = call(http.MethodGet)
	}
	return err
}
