package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// The churn scenario opens and closes sessions as fast as the server
// allows: Sessions workers each loop over request chat (with an e-mail
// address, so the contact history identifies or creates a contact), one
// customer message (acknowledged only once durable), and disconnect, which
// closes the session and has its final record written. Nobody else is in
// the session, so no message is delivered; what is measured is sessions per
// second and the latency of each step.

func runChurn(ctx context.Context, e *env, res *Result) error {
	o := e.o
	deadline := time.Now().Add(o.Duration)
	var wg sync.WaitGroup
	var n atomic.Int64
	var step Histogram // one whole open-send-close cycle
	var idsMu sync.Mutex
	closedIDs := map[string]bool{}
	e.churnIDs = closedIDs
	for w := 0; w < o.Sessions; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				ts := e.tr.NewSession()
				c, err := e.newCustomer(ctx, ts, n.Add(1), true)
				if err != nil {
					sleepCtx(ctx, 10*time.Millisecond)
					continue
				}
				sendErr := c.send(ctx)
				if c.disconnect(ctx) == nil {
					e.m.SessionClosed()
					idsMu.Lock()
					closedIDs[c.id()] = true
					idsMu.Unlock()
					if sendErr == nil {
						step.RecordDuration(time.Since(t0))
					}
				} else {
					e.m.SessionAbandoned()
				}
				ts.Finish()
			}
		}()
	}
	wg.Wait()
	p := step.Summary()
	res.Extra["cycle_ms_p50"] = p.P50
	res.Extra["cycle_ms_p99"] = p.P99
	return ctx.Err()
}

// pageSize is how many interactions the records check asks for per page
// (the admin API's maximum).
const pageSize = 10000

// verifyChurn checks, through the admin API, that the closed sessions'
// interactions are in the store as offline. With a child server it first
// restarts it on the same data directory, so that what is listed comes from
// the store and not from the server's memory (and a shutdown that could not
// flush its queue shows as missing records). It pages through every offline
// interaction (the API's after= parameter), so every session is checked.
func verifyChurn(ctx context.Context, e *env, res *Result) error {
	ids := e.churnIDs
	if e.proc != nil {
		stopErr, startErr := e.proc.Restart(ctx, 15*time.Second)
		if stopErr != nil {
			res.addWarning("server shutdown before the records check: %v", stopErr)
		}
		if startErr != nil {
			return fmt.Errorf("restart the server to read its store: %w", startErr)
		}
		e.urls = e.proc.URLs
		res.Extra["records_checked_after_restart"] = true
	}
	want := len(ids)
	found := 0
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		found, err = countOffline(ctx, e, ids)
		if found >= want || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
	if err != nil {
		return err
	}
	res.Extra["records_expected"] = want
	res.Extra["records_found_offline"] = found
	if found < want {
		res.addFailure("%d of %d closed sessions have no offline interaction record", want-found, want)
	}
	return nil
}

// countOffline pages through the offline interactions and counts those of
// ids.
func countOffline(ctx context.Context, e *env, ids map[string]bool) (found int, err error) {
	after := ""
	for {
		page, err := listOffline(ctx, e, after)
		if err != nil {
			return found, err
		}
		for _, x := range page {
			if ids[x.SessionID] && !x.Online && x.State == "offline" {
				found++
			}
		}
		if len(page) < pageSize {
			return found, nil
		}
		after = page[len(page)-1].ID
	}
}

type listedInteraction struct {
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	State     string `json:"state"`
	Online    bool   `json:"online"`
}

// listOffline fetches one page of offline interactions, those after the
// interaction after (the first page when empty).
func listOffline(ctx context.Context, e *env, after string) ([]listedInteraction, error) {
	u := fmt.Sprintf("%s/api/v1/interactions?state=offline&limit=%d", e.urls.Agent, pageSize)
	if after != "" {
		u += "&after=" + url.QueryEscape(after)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.adminToken)
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list interactions: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list interactions: HTTP %s", resp.Status)
	}
	var page []listedInteraction
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("list interactions: decode: %w", err)
	}
	return page, nil
}
