// The desk's side of Confab's routing (docs/agent-protocol.md, "Routing"): the agent's state,
// the offers the router makes it (with their countdown and alert), transfer and invite, hold to
// the workbin and the contact's earlier interactions. desk.js owns the socket and the chats and
// passes them in; everything here runs on the page's one thread.

const STATE_TEXT = { ready: 'Ready', 'not-ready': 'Not ready', 'after-call-work': 'After-call work', 'logged-out': 'Logged out' };
const RESULT_TEXT = {
  accepted: 'accepted', rejected: 'rejected', expired: 'not answered in time', 'no-agent': 'no agent of the queue was free',
  cancelled: 'cancelled', closed: 'the chat ended', taken: 'taken by somebody else',
};

export function createRouting({ $, el, request, openChat, chats, endChat, flash, alertSound }) {
  const offers = new Map(); // interactionId -> {frame, item, countdown}
  let tick = 0;
  let baseTitle = document.title;

  // ---- state ------------------------------------------------------------------------------------
  function showState(state, reason) {
    const shown = $('state-shown');
    shown.textContent = `${STATE_TEXT[state] || state}${reason ? ` (${reason})` : ''}`;
    shown.dataset.state = state;
    shown.classList.toggle('ready', state === 'ready');
    if (STATE_TEXT[state] && state !== 'logged-out') $('state').value = state;
    $('state-reason').disabled = state !== 'not-ready';
    if (state !== 'not-ready') $('state-reason').value = '';
    else if ([...$('state-reason').options].some((o) => o.value === reason)) $('state-reason').value = reason || '';
  }

  async function setState() {
    const state = $('state').value;
    const reason = state === 'not-ready' ? $('state-reason').value : '';
    try {
      const r = await request('state', reason ? { state, reason } : { state });
      showState(r.agentState || state, r.reason || '');
    } catch (err) {
      flash(`State not changed: ${err.message}`);
    }
  }
  $('state').addEventListener('change', setState);
  $('state-reason').addEventListener('change', setState);

  // ---- offers -----------------------------------------------------------------------------------
  const left = (o) => Math.max(0, Math.ceil((Date.parse(o.frame.expiresAt) - Date.now()) / 1000));

  function renderCount() {
    $('offers-count').textContent = String(offers.size);
    document.title = offers.size ? `(${offers.size}) ${baseTitle}` : baseTitle;
  }

  function countdown() {
    for (const [id, o] of offers) {
      const s = left(o);
      o.countdown.textContent = `${s} s`;
      if (s === 0) removeOffer(id);
    }
    if (!offers.size) { clearInterval(tick); tick = 0; }
  }

  function onOffer(f) {
    if (offers.has(f.interactionId)) return;
    const ix = f.interaction || {};
    const data = ix.userData || {};
    const who = [data.FirstName, data.LastName].filter(Boolean).join(' ') || data.EmailAddress || 'Customer';
    const why = { route: 'new chat', 'last-agent': 'you served this contact last', wake: 'the customer replied', transfer: `transfer from ${f.from || 'an agent'}`, invite: `${f.visibility === 'INT' ? 'consultation' : 'conference'} from ${f.from || 'an agent'}` }[f.offerKind] || f.offerKind;
    const label = ix.subject || who;
    const cd = el('span', { class: 'countdown', 'data-testid': 'offer-countdown', 'aria-label': 'seconds left to answer' });
    const accept = el('button', { type: 'button', 'data-testid': 'offer-accept', 'aria-label': `Accept chat: ${label}`, text: 'Accept' });
    const reject = el('button', { type: 'button', class: 'quiet', 'data-testid': 'offer-reject', 'aria-label': `Reject chat: ${label}`, text: 'Reject' });
    const item = el('li', { class: 'offer offer-new offer-alert', 'data-testid': 'desk-offer', 'data-interaction': f.interactionId, 'data-kind': f.offerKind, role: 'alert' },
      el('div', { class: 'offer-main' },
        el('strong', { text: ix.subject || '(no subject)' }),
        el('span', { class: 'muted', text: `${who} · queue ${ix.queue || '?'} · ${why}` }),
        el('span', {}, 'Expires in ', cd)),
      el('div', { class: 'offer-actions' }, accept, reject));
    const o = { frame: f, item, countdown: cd };
    offers.set(f.interactionId, o);
    accept.addEventListener('click', () => answer(o, true));
    reject.addEventListener('click', () => answer(o, false));
    $('offers').append(item);
    renderCount();
    countdown();
    if (!tick) tick = setInterval(countdown, 500);
    alertSound();
  }

  function removeOffer(id, why) {
    const o = offers.get(id);
    if (!o) return;
    offers.delete(id);
    o.item.remove();
    renderCount();
    if (why) flash(`Offer withdrawn: ${RESULT_TEXT[why] || why}.`);
  }

  async function answer(o, yes) {
    const id = o.frame.interactionId;
    o.item.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      if (yes) {
        const fields = { interactionId: id };
        if (o.frame.visibility) fields.visibility = o.frame.visibility;
        const r = await request('accept', fields);
        removeOffer(id);
        openChat(r.sessionId, r.userId, r.interaction || o.frame.interaction || {}, 'AGENT');
      } else {
        await request('reject', { interactionId: id });
        removeOffer(id);
      }
    } catch (err) {
      removeOffer(id);
      flash(`Could not ${yes ? 'accept' : 'reject'}: ${err.message}`);
    }
  }

  // ---- transfer and invite ----------------------------------------------------------------------
  // handover adds the transfer / conference / consult form and, for async chats, the hold button
  // to a chat's panel; c.answer shows what the server said.
  function handover(c, interaction) {
    const sid = c.sessionId;
    const to = el('input', { id: `to-${sid}`, type: 'text', 'data-testid': 'desk-transfer-to', placeholder: 'agent id or queue:name', autocomplete: 'off' });
    const mode = el('select', { id: `mode-${sid}`, 'data-testid': 'desk-transfer-mode', 'aria-label': 'Hand-over kind' },
      el('option', { value: 'transfer', text: 'Transfer' }),
      el('option', { value: 'ALL', text: 'Conference (customer sees them)' }),
      el('option', { value: 'INT', text: 'Consult (internal)' }));
    const go = el('button', { type: 'submit', 'data-testid': 'desk-transfer', text: 'Hand over' });
    const answerLine = el('p', { class: 'answer', role: 'status', 'aria-live': 'polite', 'data-testid': 'desk-transfer-answer' });
    const form = el('form', { class: 'handover', 'aria-label': 'Transfer or invite' },
      el('label', { for: to.id, text: 'To' }), to, mode, go);
    const hold = el('button', { type: 'button', class: 'quiet', 'data-testid': 'desk-hold', text: 'Hold to workbin', hidden: !interaction.async });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const target = to.value.trim();
      if (!target || c.ended) { answerLine.textContent = 'Enter an agent id or queue:<name>.'; return; }
      const transfer = mode.value === 'transfer';
      c.pendingTo = target;
      answerLine.textContent = `${transfer ? 'Transfer' : 'Invitation'} to ${target}: asking…`;
      try {
        await request(transfer ? 'transfer' : 'invite', transfer ? { sessionId: sid, to: target } : { sessionId: sid, to: target, visibility: mode.value });
        answerLine.textContent = `${transfer ? 'Transfer' : 'Invitation'} to ${target}: offered, waiting for an answer…`;
      } catch (err) {
        answerLine.textContent = `${transfer ? 'Transfer' : 'Invitation'} to ${target} refused: ${err.message}`;
      }
    });
    hold.addEventListener('click', async () => {
      if (c.ended) return;
      try {
        await request('hold', { sessionId: sid });
        endChat(c, 'On hold in your workbin; the customer\'s next message brings it back.');
        loadWorkbin();
      } catch (err) {
        answerLine.textContent = `Not held: ${err.message}`;
      }
    });
    c.answer = answerLine;
    return el('div', {}, form, el('div', { class: 'end-row' }, hold), answerLine);
  }

  function onOutcome(f, kind) {
    const c = chats.get(f.sessionId || f.interactionId);
    const what = kind === 'transfer' ? 'Transfer' : 'Invitation';
    const text = `${what}${f.by || (c && c.pendingTo) ? ` to ${f.by || c.pendingTo}` : ''}: ${RESULT_TEXT[f.result] || f.result}${kind === 'transfer' && f.result !== 'accepted' ? '; the chat stays with you' : ''}.`;
    if (!c) { flash(text); return; }
    if (c.answer) c.answer.textContent = text;
    if (kind === 'transfer' && f.result === 'accepted') endChat(c, `Handed over to ${f.by || c.pendingTo}.`);
  }

  // ---- workbin and history ----------------------------------------------------------------------
  async function loadWorkbin() {
    let r;
    try { r = await request('workbin', {}); } catch { return; }
    const items = (r.interactions || []).map((ix) => el('li', { class: 'offer', 'data-testid': 'desk-workbin-item' },
      el('div', { class: 'offer-main' }, el('strong', { text: ix.subject || '(no subject)' }),
        el('span', { class: 'muted', text: `queue ${ix.queue} · ${ix.state}` })),
      el('button', {
        type: 'button', class: 'quiet', 'aria-label': `Open held chat ${ix.subject || ix.id}`, text: 'Open',
        onclick: async () => {
          try {
            const j = await request('join', { sessionId: ix.sessionId, visibility: 'ALL' });
            openChat(j.sessionId, j.userId, j.interaction || ix, 'AGENT');
            loadWorkbin();
          } catch (err) { flash(`Cannot open: ${err.message}`); }
        },
      })));
    if (!items.length) items.push(el('li', { class: 'muted', text: 'Nothing on hold.' }));
    $('workbin').replaceChildren(...items);
  }
  $('workbin-refresh').addEventListener('click', loadWorkbin);

  async function loadHistory(c, list) {
    let r;
    try { r = await request('history', { sessionId: c.sessionId, limit: 10 }); } catch (err) {
      list.replaceChildren(el('li', { class: 'muted', text: `Not available: ${err.message}` }));
      return;
    }
    const items = (r.history || []).slice().reverse().map((h) => {
      const t = h.transcript || {};
      const lines = (t.events || []).filter((ev) => ev.kind === 'message' && ev.visibility === 'ALL').slice(0, 50)
        .map((ev) => el('li', { text: `${ev.userNick || ev.userType}: ${ev.text || ''}` }));
      return el('li', { 'data-testid': 'desk-history-item' },
        el('details', {},
          el('summary', { text: `${new Date(h.createdAt).toLocaleString()} · ${h.subject || '(no subject)'} · ${h.queue}` }),
          lines.length ? el('ol', {}, ...lines) : el('p', { class: 'muted', text: 'No messages.' })));
    });
    if (!items.length) items.push(el('li', { class: 'muted', text: r.contactId ? 'No earlier chat.' : 'Anonymous contact: no history.' }));
    list.replaceChildren(...items);
  }

  return {
    // onFrame handles a routing frame; it answers false for any other type.
    onFrame(f) {
      switch (f.type) {
        case 'state': showState(f.agentState, f.reason); return true;
        case 'offer': onOffer(f); return true;
        case 'revoked': removeOffer(f.interactionId, f.result); return true;
        case 'transfer': case 'invite': onOutcome(f, f.type); return true;
        default: return false;
      }
    },
    signedIn() { baseTitle = document.title.replace(/^\(\d+\) /, ''); showState('not-ready', ''); loadWorkbin(); },
    reset() { for (const id of [...offers.keys()]) removeOffer(id); showState('logged-out', ''); },
    handover,
    history(c) {
      const list = el('ul', { class: 'history', 'data-testid': 'desk-history', 'aria-label': 'Previous interactions' },
        el('li', { class: 'muted', text: 'Loading…' }));
      loadHistory(c, list);
      return list;
    },
  };
}
