package bench

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/confab/confab/client/chatv2"
)

// The end of an HA load: its senders stopped, every transcript and push
// channel checked for lost and duplicated messages (haload.go runs it).

// HAReport is what an HA load found. Times are in milliseconds.
type HAReport struct {
	Nodes    int `json:"nodes"`
	Chats    int `json:"chats"`
	Affected int `json:"affected"` // chats owned by the killed node
	Acked    int `json:"acknowledged"`
	// Lost: acknowledged texts missing from their transcript; Duplicates:
	// texts present more than once. PushLost, PushDuplicates: the same on
	// the customers' push channels.
	Lost           int `json:"lost"`
	Duplicates     int `json:"duplicates"`
	PushLost       int `json:"pushLost"`
	PushDuplicates int `json:"pushDuplicates"`
	// NotAnswered: affected chats whose customer or agent never had a send
	// acknowledged after the kill.
	NotAnswered int `json:"notAnswered"`
	// Answer: from the kill to each affected chat's first acknowledged
	// customer send; AgentBack: to its agent's first (after the rejoin).
	Answer    Percentiles `json:"answerMs"`
	AgentBack Percentiles `json:"agentBackMs"`
	AckMs     Percentiles `json:"ackMs"`
	Failed    int64       `json:"failedSends"`
	Problems  []string    `json:"problems,omitempty"`
}

// StopSenders stops the senders and waits for them.
func (l *HALoad) StopSenders() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.senders.Wait()
}

// Verify stops the senders, waits (up to settle) for every acknowledged
// text to arrive on its chat's push channel, then reads every transcript
// through a live node and counts what is lost or doubled.
func (l *HALoad) Verify(ctx context.Context, settle time.Duration) HAReport {
	l.StopSenders()
	killAt, killed := l.kill()
	deadline := time.Now().Add(settle)
	for time.Now().Before(deadline) && l.pushMissing() > 0 {
		sleepCtx(ctx, 50*time.Millisecond)
	}
	rep := HAReport{Nodes: len(l.f.Nodes), Chats: len(l.chats), Acked: int(l.acked.Load()), AckMs: l.ack.Summary(), Failed: l.failed.Load()}
	var answer, back Histogram
	live := 0
	for live < len(l.f.Nodes) && !l.f.Alive(live) {
		live++
	}
	reader := l.client(live)
	for _, c := range l.chats {
		c.mu.Lock()
		acked := append([]string(nil), c.acked...)
		got := make(map[string]int, len(c.got))
		for k, v := range c.got {
			got[k] = v
		}
		answered, agentBack := c.answered, c.agentBack
		c.mu.Unlock()
		if c.home == killed {
			rep.Affected++
			if answered.IsZero() || agentBack.IsZero() {
				rep.NotAnswered++
			} else {
				answer.RecordDuration(answered.Sub(killAt))
				back.RecordDuration(agentBack.Sub(killAt))
			}
		}
		seen, err := transcript(ctx, reader.Resume(c.cust.Service, c.cust.ID, c.cust.UserID, c.cust.SecureKey, c.cust.Alias()))
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("chat %d: %v", c.i, err))
			continue
		}
		for _, t := range acked {
			if seen[t] == 0 {
				rep.Lost++
				if len(rep.Problems) < 20 {
					rep.Problems = append(rep.Problems, fmt.Sprintf("chat %d (home %d): acknowledged %q lost", c.i, c.home, t))
				}
			}
			if got[t] == 0 {
				rep.PushLost++
				if len(rep.Problems) < 20 {
					rep.Problems = append(rep.Problems, fmt.Sprintf("chat %d (home %d, push via %d): acknowledged %q never pushed", c.i, c.home, c.subNode, t))
				}
			}
		}
		for t, k := range seen {
			if k > 1 {
				rep.Duplicates += k - 1
				rep.Problems = append(rep.Problems, fmt.Sprintf("chat %d: %q %d times in the transcript", c.i, t, k))
			}
		}
		for t, k := range got {
			if k > 1 {
				rep.PushDuplicates += k - 1
				rep.Problems = append(rep.Problems, fmt.Sprintf("chat %d: %q pushed %d times", c.i, t, k))
			}
		}
	}
	rep.Answer, rep.AgentBack = answer.Summary(), back.Summary()
	sort.Strings(rep.Problems)
	return rep
}

// pushMissing counts acknowledged texts not yet received on push.
func (l *HALoad) pushMissing() int {
	missing := 0
	for _, c := range l.chats {
		c.mu.Lock()
		for _, t := range c.acked {
			if c.got[t] == 0 {
				missing++
			}
		}
		c.mu.Unlock()
	}
	return missing
}

// transcript reads a chat's whole transcript (page after page) and counts
// its message texts.
func transcript(ctx context.Context, c *chatv2.Chat) (map[string]int, error) {
	seen := map[string]int{}
	pos := 1
	for range 1000 {
		var resp *chatv2.Response
		var err error
		for try := 0; try < 20; try++ {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resp, err = c.Refresh(rctx, pos)
			cancel()
			if err == nil && resp.StatusCode == 0 {
				break
			}
			sleepCtx(ctx, 200*time.Millisecond)
		}
		if err != nil {
			return nil, fmt.Errorf("refresh from %d: %w", pos, err)
		}
		for _, m := range resp.Messages {
			if m.Type == chatv2.TypeMessage {
				seen[m.Text]++
			}
		}
		if len(resp.Messages) == 0 || resp.NextPosition <= pos {
			return seen, nil
		}
		pos = resp.NextPosition
	}
	return seen, nil
}
