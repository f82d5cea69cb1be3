package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/client/chatv2"
	"github.com/confab/confab/internal/config"
)

// routingFigures reads /Counters and /metrics of a node.
func routingFigures(t *testing.T, n *e2eNode) (map[string]int64, map[string]*dto.MetricFamily) {
	t.Helper()
	health := "http://" + n.srv.Addr(config.PortHealth)
	_, body := getBody(t, health+"/Counters")
	var counters map[string]int64
	if err := json.Unmarshal([]byte(body), &counters); err != nil {
		t.Fatalf("/Counters: %v\n%s", err, body)
	}
	_, text := getBody(t, health+"/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return counters, mfs
}

// promValue is the value of family name's member whose label is value.
func promValue(t *testing.T, mfs map[string]*dto.MetricFamily, name, label, value string) float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	for _, m := range mf.Metric {
		if label == "" && len(m.Label) == 0 {
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("/metrics has no %s{%s=%q}", name, label, value)
	return 0
}

// TestRoutingMetrics: the queued interactions, the unserved queues, the
// offers and the agent states are on /Counters and /metrics, and a queue
// whose last agent logs out shows as unserved.
func TestRoutingMetrics(t *testing.T) {
	n := startE2E(t, t.TempDir(), "[routing]\noffer-timeout = 30\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ann := n.dial(t, "tok-ann")
	nextFrame(t, ann, wire.FrameState)
	cust := chatv2.New(n.chatURL, chatv2.Options{})
	defer cust.CloseIdleConnections()
	ch, _, err := cust.RequestChat(ctx, "customer-support", chatv2.ChatRequest{Nickname: "Kim"})
	if err != nil {
		t.Fatal(err)
	}
	until(t, "the chat queued", func() bool { return stateOf(n.list(t, "default"), ch.ID) == "queued" })

	// Ann is logged in but not ready: the chat waits, the queue is served.
	c, mfs := routingFigures(t, n)
	if c["routing_queued_current"] != 1 || c["routing_queues_unserved_current"] != 0 || c["routing_agents_not_ready"] != 1 || c["routing_agents_ready"] != 0 || c["routing_offer"] != 0 {
		t.Fatalf("/Counters with a not-ready agent: %v", c)
	}
	if promValue(t, mfs, "confab_routing_queue_waiting", "queue", "default") != 1 ||
		promValue(t, mfs, "confab_routing_queue_agents", "queue", "default") != 1 ||
		promValue(t, mfs, "confab_routing_queue_unserved", "queue", "default") != 0 ||
		promValue(t, mfs, "confab_routing_agents", "state", "not-ready") != 1 {
		t.Fatal("/metrics with a not-ready agent disagrees")
	}

	// Ready: she gets the offer and rejects it.
	if err := ann.SetState(ctx, wire.StateReady, ""); err != nil {
		t.Fatal(err)
	}
	waitOffer(t, ann, ch.ID)
	if c, _ := routingFigures(t, n); c["routing_offer"] != 1 || c["routing_queued_current"] != 1 {
		t.Fatalf("/Counters with an open offer: %v", c)
	}
	if err := ann.Reject(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if err := ann.SetState(ctx, wire.StateNotReady, ""); err != nil {
		t.Fatal(err)
	}
	c, mfs = routingFigures(t, n)
	if c["routing_offer_rejected"] != 1 || c["routing_offer_accepted"] != 0 || c["routing_offer_timed_out"] != 0 {
		t.Fatalf("/Counters after a reject: %v", c)
	}
	if promValue(t, mfs, "confab_routing_offers_rejected_total", "", "") != 1 || promValue(t, mfs, "confab_routing_offers_total", "", "") < 1 {
		t.Fatal("/metrics offers disagree")
	}

	// The queue's last agent logs out: it is unserved.
	ann.Close()
	until(t, "the queue unserved on /Counters", func() bool {
		c, _ := routingFigures(t, n)
		return c["routing_queues_unserved_current"] == 1
	})
	c, mfs = routingFigures(t, n)
	if c["routing_queued_current"] != 1 || c["routing_agents_not_ready"] != 0 {
		t.Fatalf("/Counters with no agent: %v", c)
	}
	if promValue(t, mfs, "confab_routing_queue_unserved", "queue", "default") != 1 ||
		promValue(t, mfs, "confab_routing_queue_agents", "queue", "default") != 0 ||
		promValue(t, mfs, "confab_routing_queues_unserved", "", "") != 1 {
		t.Fatal("/metrics does not show the unserved queue")
	}
}
