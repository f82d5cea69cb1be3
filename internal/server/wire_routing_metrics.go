package server

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kpi"
	"github.com/confab/confab/internal/routing"
)

// routingStates are the agent states counted on /Counters and /metrics.
var routingStates = [...]routing.AgentState{routing.StateReady, routing.StateNotReady, routing.StateAfterCallWork}

// routingCounters adds routing's figures to the node's counters (so
// /Counters, the log printer and /metrics have them): offers made,
// accepted, rejected and timed out (cumulative); queued interactions,
// queues that no logged-in agent serves, and logged-in agents by state
// (current). Every value is read from the router when the counters are
// read.
func routingCounters(k *kpi.Set, r *routing.Router) {
	counts := func(f func(routing.Counters) int64) func() int64 {
		return func() int64 { return f(r.Counters()) }
	}
	k.CounterFunc("routing_offer", "confab_routing_offers_total", "Offers made to agents (queued chats, transfers, invitations).",
		counts(func(c routing.Counters) int64 { return c.Offers }))
	k.CounterFunc("routing_offer_accepted", "confab_routing_offers_accepted_total", "Offers an agent accepted.",
		counts(func(c routing.Counters) int64 { return c.OffersAccepted }))
	k.CounterFunc("routing_offer_rejected", "confab_routing_offers_rejected_total", "Offers an agent rejected.",
		counts(func(c routing.Counters) int64 { return c.OffersRejected }))
	k.CounterFunc("routing_offer_timed_out", "confab_routing_offers_timed_out_total", "Offers not answered within [routing] offer-timeout (the agent became not-ready).",
		counts(func(c routing.Counters) int64 { return c.OffersExpired }))
	k.Gauge("routing_queued_current", "confab_routing_queued", "Interactions waiting in a queue or offered, all queues.", func() int64 {
		var n int64
		for _, q := range r.Queues() {
			n += int64(q.Waiting + q.Offered)
		}
		return n
	})
	k.Gauge("routing_queues_unserved_current", "confab_routing_queues_unserved", "Queues with interactions waiting that no logged-in agent or bot serves.", func() int64 {
		var n int64
		for _, q := range r.Queues() {
			if q.Unserved {
				n++
			}
		}
		return n
	})
	for _, st := range routingStates {
		name := "routing_agents_" + strings.ReplaceAll(string(st), "-", "_")
		k.LabelledGauge(name, "confab_routing_agents", "state", string(st), "Logged-in agents and bots in routing state "+string(st)+".", func() int64 {
			var n int64
			for _, a := range r.Agents() {
				if a.State == st {
					n++
				}
			}
			return n
		})
	}
}

// queueCollector exports every queue's routing figures to /metrics with
// a queue label. Queue names come from the configuration ([endpoints]
// and [routing:<queue>] sections), so the label's values are bounded by
// it; any other queue routing has seen (one named only by agent
// accounts) is added into queue="other".
type queueCollector struct {
	router *routing.Router
	cfg    func() *config.Config
}

var (
	queueWaiting  = prometheus.NewDesc("confab_routing_queue_waiting", "Interactions waiting in the queue for an offer.", []string{"queue"}, nil)
	queueOffered  = prometheus.NewDesc("confab_routing_queue_offered", "Interactions of the queue with an open offer.", []string{"queue"}, nil)
	queueAgents   = prometheus.NewDesc("confab_routing_queue_agents", "Logged-in agents and bots serving the queue.", []string{"queue"}, nil)
	queueUnserved = prometheus.NewDesc("confab_routing_queue_unserved", "1 while interactions wait in the queue and no logged-in agent or bot serves it, else 0.", []string{"queue"}, nil)
)

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueWaiting
	ch <- queueOffered
	ch <- queueAgents
	ch <- queueUnserved
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.cfg()
	configured := map[string]bool{}
	for _, eps := range cfg.Endpoints {
		for _, q := range eps {
			configured[q] = true
		}
	}
	for q := range cfg.RoutingQueues {
		configured[q] = true
	}
	by := map[string]*routing.QueueStatus{}
	for q := range configured {
		by[q] = &routing.QueueStatus{Name: q}
	}
	for _, q := range c.router.Queues() {
		name := q.Name
		if !configured[name] {
			name = "other"
		}
		s := by[name]
		if s == nil {
			s = &routing.QueueStatus{Name: name}
			by[name] = s
		}
		s.Waiting += q.Waiting
		s.Offered += q.Offered
		s.Agents += q.Agents
		s.Unserved = s.Unserved || q.Unserved
	}
	for name, s := range by {
		unserved := 0.0
		if s.Unserved {
			unserved = 1
		}
		ch <- prometheus.MustNewConstMetric(queueWaiting, prometheus.GaugeValue, float64(s.Waiting), name)
		ch <- prometheus.MustNewConstMetric(queueOffered, prometheus.GaugeValue, float64(s.Offered), name)
		ch <- prometheus.MustNewConstMetric(queueAgents, prometheus.GaugeValue, float64(s.Agents), name)
		ch <- prometheus.MustNewConstMetric(queueUnserved, prometheus.GaugeValue, unserved, name)
	}
}
