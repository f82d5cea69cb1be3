// The supervisor console (docs/agent-protocol.md, "The supervisor console's picture"): live queues
// with their waiting count and oldest wait, the agents of the supervisor's queues (state, chats,
// capacity), their live chats with monitor (VIP) and coach (INT) — barge-in is in the chat's tab —
// and the node's KPI figures, from GET /agent/v1/console every two seconds. desk.js owns the
// socket and the chats and passes them in; everything runs on the page's one thread.

const STATE_TEXT = { ready: 'Ready', 'not-ready': 'Not ready', 'after-call-work': 'After-call work' };
// The figures shown first; every other counter is under "All figures".
const MAIN_KPIS = [
  ['session_current', 'Chats now'], ['flex_users_current', 'Customers now'],
  ['agent_connections_current', 'Agent connections'], ['routing_queued_current', 'Queued or offered'],
  ['session_created', 'Chats started'], ['session_closed', 'Chats ended'],
  ['message_client', 'Customer messages'], ['message_agent', 'Agent messages'],
];

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
export const duration = (s) => (s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`);

export function createConsole({ $, el, request, openChat, chats, flash, api }) {
  let timer = 0;
  let running = false;

  async function load() {
    if (!running) return;
    let pic;
    try {
      pic = await api('GET', '/agent/v1/console');
      $('console-error').textContent = '';
    } catch (err) {
      $('console-error').textContent = `The console cannot be read: ${err.message}`;
    }
    if (pic) render(pic);
    clearTimeout(timer);
    if (running) timer = setTimeout(load, 2000);
  }

  function render(pic) {
    const qrows = pic.queues.map((q) => el('tr', { 'data-testid': 'console-queue', 'data-queue': q.name },
      el('th', { scope: 'row', text: q.name }),
      el('td', { 'data-col': 'waiting', text: String(q.waiting) }),
      el('td', { 'data-col': 'oldest', text: q.waiting ? duration(q.oldestWaitSeconds) : '—' }),
      el('td', { text: `${q.available} / ${q.agents}${q.unserved ? ' · unserved' : ''}`, class: q.unserved ? 'error' : null })));
    if (!qrows.length) qrows.push(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'You supervise no queue.' })));
    $('queues').replaceChildren(...qrows);

    const arows = pic.agents.map((a) => el('tr', { 'data-testid': 'console-agent', 'data-agent': a.id, 'data-state': a.state },
      el('th', { scope: 'row', text: a.name || a.id }),
      el('td', { text: `${STATE_TEXT[a.state] || a.state}${a.reason ? ` (${a.reason})` : ''}` }),
      el('td', { 'data-col': 'load', text: `${plural((a.interactions || []).length, 'chat')}${(a.offers || []).length ? ` + ${a.offers.length} offered` : ''}` }),
      el('td', { 'data-col': 'capacity', text: `${a.load} / ${a.capacity}` })));
    if (!arows.length) arows.push(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No agent of your queues is signed in.' })));
    $('console-agents').replaceChildren(...arows);

    const lrows = pic.interactions.map((it) => {
      const label = it.subject || it.customer || it.id;
      const joined = chats.has(it.sessionId) && !chats.get(it.sessionId).ended;
      const btn = (op, text) => el('button', {
        type: 'button', class: op === 'coach' ? 'quiet' : null, 'data-testid': `console-${op}`, 'data-session': it.sessionId,
        'aria-label': `${text} chat ${label}`, text, disabled: joined, onclick: () => supervise(op, it),
      });
      return el('tr', { 'data-testid': 'console-chat', 'data-session': it.sessionId },
        el('th', { scope: 'row' }, el('span', { text: label }), el('span', { class: 'muted', text: ` · ${it.queue} · ${duration(it.ageSeconds)}` })),
        el('td', { text: it.state }),
        el('td', { text: (it.agents || []).join(', ') || it.agentId || '—' }),
        el('td', { class: 'actions' }, btn('monitor', 'Monitor'), btn('coach', 'Coach')));
    });
    if (!lrows.length) lrows.push(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No live chat in your queues.' })));
    $('live').replaceChildren(...lrows);

    const by = new Map(pic.kpi.map((f) => [f.name, f]));
    $('kpi').replaceChildren(...MAIN_KPIS.filter(([n]) => by.has(n)).flatMap(([n, label]) => [
      el('dt', { text: label, title: by.get(n).description }), el('dd', { 'data-kpi': n, text: String(by.get(n).value) })]));
    $('kpi-all').replaceChildren(...pic.kpi.flatMap((f) => [
      el('dt', { text: f.name, title: f.description }), el('dd', { 'data-kpi-all': f.name, text: String(f.value) })]));
  }

  async function supervise(op, it) {
    if (chats.has(it.sessionId) && !chats.get(it.sessionId).ended) return;
    try {
      // monitor: VIP, seen by supervisors only (the customer and the agents are not told); coach:
      // INT, the agents see it. Either may barge in from the chat's tab.
      const r = await request(op, { sessionId: it.sessionId });
      openChat(r.sessionId, r.userId, it, 'SUPERVISOR', op === 'monitor' ? 'VIP' : 'INT');
      load();
    } catch (err) {
      flash(`Could not ${op}: ${err.message}`);
    }
  }

  return {
    start() { running = true; load(); },
    stop() { running = false; clearTimeout(timer); },
    refresh: load,
  };
}
