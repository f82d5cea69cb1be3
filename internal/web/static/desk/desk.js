// Confab agent desk and supervisor console. One WebSocket to /agent/v1/ws (the agent protocol,
// docs/agent-protocol.md); the token is passed as the access_token query parameter, since a
// browser cannot set headers on a WebSocket, and kept in sessionStorage (this tab only).
import { createRouting } from './routing.js';
import { createConsole } from './console.js';
import { createResponses } from './responses.js';
import * as rich from './rich.js';

const TOKEN_KEY = 'confab-desk-token';
const $ = (id) => document.getElementById(id);

const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
  return e;
};

// ---- the socket ---------------------------------------------------------------------------------
let config = { agent: '', service: 'customer-support' };
let sock = null;
let me = null; // hello.agent
let nextId = 1;
const pending = new Map(); // request id -> {resolve, reject}
const chats = new Map(); // sessionId -> chat
let active = '';
let pollTimer = 0;
let audio = null;
let routing = null; // routing.js: state, offers, transfer, workbin, history
let konsole = null; // console.js: the supervisor console
let responses = null; // responses.js: standard responses

function request(op, fields = {}) {
  const id = String(nextId++);
  return new Promise((resolve, reject) => {
    if (!sock || sock.readyState !== WebSocket.OPEN) { reject(new Error('not connected')); return; }
    pending.set(id, { resolve, reject });
    sock.send(JSON.stringify({ id, op, ...fields }));
  });
}

function socketURL(token) {
  const host = config.agent || location.host;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${host}/agent/v1/ws?access_token=${encodeURIComponent(token)}`;
}

function connect(token) {
  $('conn').textContent = 'Connecting…';
  const ws = new WebSocket(socketURL(token));
  sock = ws;
  let opened = false;
  ws.onopen = () => { opened = true; };
  ws.onmessage = (ev) => {
    let f;
    try { f = JSON.parse(ev.data); } catch { return; }
    switch (f.type) {
      case 'hello': signedIn(f.agent); break;
      case 'result': case 'error': {
        const p = pending.get(f.id);
        if (!p) break;
        pending.delete(f.id);
        if (f.type === 'result') p.resolve(f); else p.reject(Object.assign(new Error(f.message || f.error), { frame: f }));
        break;
      }
      case 'events': onEvents(f); break;
      default: routing.onFrame(f); break;
    }
  };
  ws.onclose = (ev) => {
    if (sock !== ws) return;
    sock = null;
    clearInterval(pollTimer);
    konsole.stop();
    for (const p of pending.values()) p.reject(new Error('disconnected'));
    pending.clear();
    routing.reset();
    for (const c of chats.values()) endChat(c, 'Disconnected: you left this chat.');
    if (!opened || !me) {
      // Refused before the upgrade (a wrong token answers 401).
      sessionStorage.removeItem(TOKEN_KEY);
      showSignin('The token was refused, or the server cannot be reached.');
      return;
    }
    $('conn').textContent = `Disconnected (${ev.code}); reconnecting…`;
    setTimeout(() => { const t = sessionStorage.getItem(TOKEN_KEY); if (t) connect(t); }, 2000);
  };
}

function showSignin(msg) {
  me = null;
  $('signin').hidden = false;
  $('app').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  $('conn').textContent = 'Signed out';
  $('signin-error').textContent = msg || '';
  $('token').focus();
}

function signedIn(agent) {
  me = agent;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = `${agent.name || agent.id} (${agent.userType === 'SUPERVISOR' ? 'supervisor' : 'agent'})`;
  $('conn').textContent = 'Connected';
  const sup = agent.userType === 'SUPERVISOR';
  $('console').hidden = !sup;
  $('app').classList.toggle('supervisor', sup);
  $('empty').textContent = sup ? 'No chat open. Monitor or coach a chat from the console, or take one that waits.'
    : 'No chat open. Set yourself ready and accept an offer to start.';
  routing.signedIn();
  poll();
  pollTimer = setInterval(poll, 2000);
  if (sup) {
    konsole.start();
    if (!managed) { managed = true; responses.manage(); }
  }
}
let managed = false;

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  if (!t) { $('signin-error').textContent = 'Enter your agent token.'; return; }
  sessionStorage.setItem(TOKEN_KEY, t);
  $('token').value = '';
  connect(t);
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  const ws = sock;
  sock = null;
  if (ws) ws.close(1000);
  clearInterval(pollTimer);
  konsole.stop();
  for (const c of [...chats.values()]) closeTab(c);
  showSignin('');
});

// ---- waiting interactions ----------------------------------------------------------------------
const waitText = (since) => {
  const s = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
};

async function poll() {
  let r;
  try { r = await request('list', { queue: '' }); } catch { return; }
  const items = r.interactions || [];
  $('queue-count').textContent = String(items.length);
  const list = $('queue');
  list.replaceChildren(...items.map((it) => {
    const data = it.userData || {};
    const who = [data.FirstName, data.LastName].filter(Boolean).join(' ') || data.EmailAddress || 'Customer';
    // Agents get chats as offers from the router; a supervisor may take one from the queue.
    return el('li', { class: 'offer', 'data-testid': 'desk-waiting', 'data-interaction': it.id },
      el('div', { class: 'offer-main' },
        el('strong', { text: it.subject || '(no subject)' }),
        el('span', { class: 'muted', text: `${who} · queue ${it.queue} · ${it.state || 'queued'} · waiting ${waitText(it.createdAt)}` })),
      me && me.userType === 'SUPERVISOR' ? el('button', {
        type: 'button', class: 'quiet', 'data-testid': 'queue-take', 'aria-label': `Take chat: ${it.subject || who}`,
        text: 'Take', onclick: () => accept(it),
      }) : null);
  }));
}

// The browser lets a page make sound only after a user gesture: the first one creates the context.
// A keyboard-only agent's first key press counts as that gesture too.
const unlockAudio = () => {
  try { audio = audio || new AudioContext(); } catch { audio = null; }
  if (audio && audio.state === 'suspended') audio.resume().catch(() => {});
};
document.addEventListener('pointerdown', unlockAudio, { once: true });
document.addEventListener('keydown', unlockAudio, { once: true });
function alertSound() {
  if (!audio || audio.state !== 'running') return;
  const o = audio.createOscillator();
  const g = audio.createGain();
  o.frequency.value = 880;
  g.gain.value = 0.05;
  o.connect(g).connect(audio.destination);
  o.start();
  o.stop(audio.currentTime + 0.15);
}

async function accept(it) {
  try {
    const r = await request('accept', { interactionId: it.id });
    openChat(r.sessionId, r.userId, r.interaction || it, 'AGENT');
    poll();
  } catch (err) {
    flash(`Could not accept: ${err.message}`);
  }
}

function flash(text) { $('conn').textContent = text; }

// ---- chats ---------------------------------------------------------------------------------------
// openChat opens a chat's tab; a supervisor's mode is VIP (monitoring) or INT (coaching).
function openChat(sessionId, userId, interaction, role, mode = 'VIP') {
  const old = chats.get(sessionId);
  if (old && !old.ended) { select(sessionId); return; }
  if (old) closeTab(old); // back from the workbin or transferred back: a fresh tab

  const label = interaction.subject || (interaction.userData && interaction.userData.FirstName) || sessionId;
  const tab = el('button', {
    type: 'button', role: 'tab', id: `tab-${sessionId}`, 'aria-controls': `panel-${sessionId}`,
    'aria-selected': 'false', tabindex: '-1', 'data-testid': 'desk-chat-tab', class: 'tab',
  }, el('span', { class: 'tab-label', text: label }), el('span', { class: 'badge unread', hidden: true, 'aria-label': 'unread messages' }));
  const log = el('ol', { class: 'log', role: 'log', 'aria-label': `Transcript of ${label}`, tabindex: '0' });
  const typing = el('p', { class: 'typing', 'aria-live': 'polite', 'data-testid': 'desk-typing' });
  const input = el('textarea', { id: `input-${sessionId}`, rows: '2', 'data-testid': 'desk-input', placeholder: 'Write to the customer…' });
  const vis = el('select', { id: `vis-${sessionId}`, 'data-testid': 'desk-visibility' },
    el('option', { value: 'ALL', text: 'Everyone' }),
    el('option', { value: 'INT', text: 'Internal (agents and supervisors)' }),
    me && me.userType === 'SUPERVISOR' ? el('option', { value: 'VIP', text: 'Supervisors only' }) : null);
  if (role === 'SUPERVISOR') vis.value = mode;
  const send = el('button', { type: 'submit', 'data-testid': 'desk-send', text: 'Send' });
  const file = el('input', { id: `file-${sessionId}`, type: 'file', 'data-testid': 'desk-file-input' });
  const attached = el('p', { class: 'attached', 'data-testid': 'desk-attached', hidden: true });
  const compose = el('form', { class: 'compose', 'aria-label': 'Write a message' },
    el('label', { for: input.id, class: 'sr', text: 'Message' }), input, attached,
    el('div', { class: 'compose-row' }, el('label', { for: vis.id, text: 'Visible to' }), vis,
      el('label', { for: file.id, text: 'Send a file' }), file, send));
  const pushURL = el('input', { id: `push-${sessionId}`, type: 'url', 'data-testid': 'desk-push-url', placeholder: 'https://…', autocomplete: 'off' });
  const notice = el('form', { class: 'handover', 'aria-label': 'Push a page to the customer' },
    el('label', { for: pushURL.id, text: 'Push a page' }), pushURL,
    el('button', { type: 'submit', class: 'quiet', 'data-testid': 'desk-push', text: 'Push' }));
  const barge = role === 'SUPERVISOR' ? el('button', { type: 'button', 'data-testid': 'desk-barge-in', text: 'Barge in',
    title: 'Become visible to the customer and the agents' }) : null;
  const after = el('select', { id: `after-${sessionId}`, 'data-testid': 'desk-after-action' },
    el('option', { value: 'CLOSE_IF_NO_AGENTS', text: 'Close unless another agent stays' }),
    el('option', { value: 'KEEP_ALIVE', text: 'Leave, keep the chat open' }),
    el('option', { value: 'FORCE_CLOSE', text: 'Close for everyone' }));
  const end = el('button', { type: 'button', 'data-testid': 'desk-end', class: 'danger', text: role === 'SUPERVISOR' ? 'Leave' : 'End chat' });
  const closeTabBtn = el('button', { type: 'button', class: 'quiet', text: 'Close tab', hidden: true, 'data-testid': 'desk-close-tab' });
  const info = el('dl', { class: 'info' });
  for (const [k, v] of Object.entries(interaction.userData || {})) {
    info.append(el('dt', { text: k }), el('dd', { text: typeof v === 'string' ? v : JSON.stringify(v) }));
  }
  const ud = interaction.userData || {};
  const c = { sessionId, userId, role, tab, log, typing, input, unread: 0, ended: false, seen: new Set(), typingSent: false, typingTimer: 0,
    customerName: ud.FirstName || '', attachment: null };
  // setAttachment attaches eventAttributes (a structured standard response) to the next send.
  c.setAttachment = (a) => {
    c.attachment = a;
    attached.hidden = !a;
    attached.replaceChildren(...(a ? [`Sends as a structured message: ${a.label} `, el('button', {
      type: 'button', class: 'quiet', 'data-testid': 'desk-attached-remove', text: 'Send as plain text',
      onclick: () => c.setAttachment(null),
    })] : []));
  };
  // sendRich sends a structured message built by the composer; true when it was sent.
  const sendRich = async (text, attrs) => {
    if (c.ended) return false;
    try {
      await request('send', { sessionId, text, msgType: 'text', visibility: vis.value, eventAttributes: attrs });
      return true;
    } catch (err) {
      flash(`Not sent: ${err.message}`);
      return false;
    }
  };
  const panel = el('section', { id: `panel-${sessionId}`, role: 'tabpanel', 'aria-labelledby': tab.id, class: 'panel', hidden: true },
    el('div', { class: 'convo' }, log, typing, compose, rich.composer(el, sessionId, sendRich), notice,
      el('div', { class: 'end-row' }, barge, el('label', { for: after.id, text: 'After-action' }), after, end, closeTabBtn),
      role === 'AGENT' ? routing.handover(c, interaction) : null),
    el('aside', { class: 'details', 'aria-label': 'Interaction details' },
      el('h3', { text: 'Standard responses' }),
      responses.panel(c),
      el('h3', { text: 'Interaction' }),
      el('p', { class: 'muted', 'data-testid': 'desk-role', text: `${interaction.queue ? `Queue ${interaction.queue} · ` : ''}${role === 'SUPERVISOR' ? (mode === 'INT' ? 'coaching (agents see you)' : 'monitoring (only supervisors see you)') : 'assigned to you'}` }),
      info,
      el('h3', { text: 'Previous interactions' }),
      routing.history(c)));
  c.panel = panel;
  chats.set(sessionId, c);
  tab.addEventListener('click', () => select(sessionId));
  tab.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const ids = [...chats.keys()];
    const i = ids.indexOf(sessionId) + (e.key === 'ArrowRight' ? 1 : -1);
    const next = ids[(i + ids.length) % ids.length];
    select(next);
    chats.get(next).tab.focus();
  });
  compose.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || c.ended) return;
    input.value = '';
    clearTimeout(c.typingTimer);
    c.typingSent = false;
    const att = c.attachment;
    c.setAttachment(null);
    try {
      const fields = { sessionId, text, msgType: 'text', visibility: vis.value };
      if (att) fields.eventAttributes = att.attributes;
      await request('send', fields);
    } catch (err) {
      input.value = text;
      c.setAttachment(att);
      flash(`Not sent: ${err.message}`);
    }
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); compose.requestSubmit(); }
    // "/shortcut" then Tab inserts that standard response.
    if (e.key === 'Tab' && !e.shiftKey && /^\/[a-z0-9_-]+$/.test(input.value.trim())) { e.preventDefault(); responses.shortcut(c); }
  });
  notice.addEventListener('submit', async (e) => {
    e.preventDefault();
    const url = pushURL.value.trim();
    if (!url || c.ended) return;
    try {
      await request('notify', { sessionId, noticeType: 'USER_PUSHED_URL', text: url, visibility: vis.value });
      pushURL.value = '';
    } catch (err) {
      flash(`Not pushed: ${err.message}`);
    }
  });
  if (barge) {
    barge.addEventListener('click', async () => {
      if (c.ended) return;
      try {
        await request('barge-in', { sessionId });
        barge.hidden = true;
        vis.value = 'ALL';
        panel.querySelector('[data-testid=desk-role]').textContent = `${interaction.queue ? `Queue ${interaction.queue} · ` : ''}barged in (everybody sees you)`;
      } catch (err) {
        flash(`Could not barge in: ${err.message}`);
      }
    });
  }
  input.addEventListener('input', () => {
    if (c.ended || vis.value !== 'ALL') return;
    if (!input.value.trim()) return;
    if (!c.typingSent) {
      c.typingSent = true;
      request('notify', { sessionId, noticeType: 'TYPING_STARTED' }).catch(() => {});
    }
    clearTimeout(c.typingTimer);
    c.typingTimer = setTimeout(() => {
      c.typingSent = false;
      request('notify', { sessionId, noticeType: 'TYPING_STOPPED' }).catch(() => {});
    }, 3000);
  });
  end.addEventListener('click', async () => {
    if (c.ended) { closeTab(c); return; }
    try {
      await request('release', { sessionId, afterAction: after.value });
      endChat(c, 'You left this chat.');
    } catch (err) {
      flash(`Could not end: ${err.message}`);
    }
  });
  closeTabBtn.addEventListener('click', () => closeTab(c));
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    file.value = '';
    if (!f || c.ended) return;
    try {
      const form = new FormData();
      form.append('file', f, f.name);
      const resp = await fetch(`${apiBase()}/agent/v1/documents`, { method: 'POST', body: form, headers: auth() });
      const doc = await resp.json();
      if (!resp.ok) throw new Error(doc.message || `HTTP ${resp.status}`);
      await request('notify', { sessionId, noticeType: 'SYS_COMMAND', text: 'file-uploaded', visibility: vis.value, userData: { 'file-document-id': doc.documentId } });
    } catch (err) {
      flash(`File not sent: ${err.message}`);
    }
  });
  c.end = end;
  c.closeTabBtn = closeTabBtn;
  c.compose = compose;
  $('tabs').append(tab);
  $('panels').append(panel);
  $('empty').hidden = true;
  select(sessionId);
  input.focus();
}

function select(sessionId) {
  active = sessionId;
  for (const [id, c] of chats) {
    const on = id === sessionId;
    c.tab.setAttribute('aria-selected', String(on));
    c.tab.tabIndex = on ? 0 : -1;
    c.panel.hidden = !on;
    if (on) { c.unread = 0; renderUnread(c); }
  }
}

function renderUnread(c) {
  const b = c.tab.querySelector('.unread');
  b.hidden = c.unread === 0;
  b.textContent = String(c.unread);
  b.setAttribute('aria-label', `${c.unread} unread`);
}

function closeTab(c) {
  chats.delete(c.sessionId);
  c.tab.remove();
  c.panel.remove();
  const first = chats.keys().next();
  if (!first.done) select(first.value); else $('empty').hidden = false;
}

function endChat(c, text) {
  if (c.ended) return;
  c.ended = true;
  c.log.append(el('li', { class: 'system', text }));
  c.panel.querySelectorAll('.compose textarea, .compose select, .compose button, .compose input, .handover input, .handover select, .handover button, [data-testid=desk-hold], .rich-form input, .rich-form textarea, .rich-form select, .rich-form button, [data-testid=desk-barge-in], .sr-box button').forEach((x) => { x.disabled = true; });
  c.end.hidden = true;
  c.closeTabBtn.hidden = false;
  c.typing.textContent = '';
  c.tab.classList.add('ended');
}

function onEvents(f) {
  const c = chats.get(f.sessionId);
  if (!c) return;
  for (const ev of f.events || []) {
    if (c.seen.has(ev.pos)) continue;
    c.seen.add(ev.pos);
    renderEvent(c, ev, f.replay);
  }
  c.log.scrollTop = c.log.scrollHeight;
  if (f.state === 'closed') endChat(c, 'The chat has ended.');
}

function renderEvent(c, ev, replay) {
  const from = ev.from || {};
  const mine = from.userId === c.userId;
  const who = mine ? 'You' : (from.nickname || from.userType || 'system');
  const badge = ev.visibility && ev.visibility !== 'ALL'
    ? el('span', { class: `vis vis-${ev.visibility.toLowerCase()}`, text: ev.visibility === 'INT' ? 'INT' : 'VIP', title: ev.visibility === 'INT' ? 'internal: not shown to the customer' : 'supervisors only' })
    : null;
  if (from.userType === 'CLIENT' && from.nickname && !c.customerName) c.customerName = from.nickname;
  let item = null;
  switch (ev.kind) {
    case 'message':
      item = el('li', { class: `msg from-${(from.userType || '').toLowerCase()}${mine ? ' mine' : ''}` },
        el('span', { class: 'from', text: who }), badge,
        el('p', { class: 'text', text: ev.text || '' }),
        el('time', { class: 'time', datetime: ev.time, text: new Date(ev.time).toLocaleTimeString() }));
      {
        const element = rich.parse(ev.eventAttributes);
        if (element) { item.append(rich.render(el, element)); item.dataset.rich = element.contentType; }
      }
      if (!mine && c.typingFrom === from.userId) c.typing.textContent = '';
      if (!mine && !replay && active !== c.sessionId) { c.unread++; renderUnread(c); }
      break;
    case 'newParty':
      item = el('li', { class: 'system' }, `${who} joined${ev.text ? `: ${ev.text}` : ''}`, badge ? ' ' : null, badge);
      break;
    case 'partyLeft':
      item = el('li', { class: 'system' }, `${who} left${ev.reason && ev.reason.text ? ` (${ev.reason.text})` : ''}`, badge ? ' ' : null, badge);
      break;
    case 'notice':
      if (ev.noticeType === 'TYPING_STARTED') {
        if (!mine) { c.typing.textContent = `${who} is typing${ev.text ? `: ${ev.text}` : '…'}`; c.typingFrom = from.userId; }
      } else if (ev.noticeType === 'TYPING_STOPPED') {
        if (!mine) c.typing.textContent = '';
      } else if (ev.noticeType === 'USER_PUSHED_URL') {
        item = el('li', { class: 'system' }, `${who} pushed ${ev.text}`, badge);
      } else if (ev.noticeType === 'USER_UPDATE_NICK') {
        item = el('li', { class: 'system' }, `${who} is now ${ev.text}`);
      } else if (ev.noticeType === 'SYS_COMMAND' && ev.text === 'file-uploaded') {
        const u = ev.userData || {};
        const label = `${u['file-name'] || 'file'} (${u['file-size'] || '?'} bytes)`;
        item = el('li', { class: 'system' }, `${who} shared `, el('button', {
          type: 'button', class: 'quiet', 'data-testid': 'desk-file', 'aria-label': `Download ${label}`, text: label,
          onclick: () => downloadDoc(u['file-document-id'], u['file-name'] || 'file'),
        }), badge);
      } else if (ev.noticeType === 'USER_CUSTOM' && ev.text) {
        item = el('li', { class: 'system' }, `${who}: ${ev.text}`, badge);
      }
      break;
    default:
      break;
  }
  if (!item) return;
  item.dataset.testid = 'desk-event';
  item.dataset.kind = ev.kind;
  item.dataset.visibility = ev.visibility || 'ALL';
  c.log.append(item);
}

// ---- documents ---------------------------------------------------------------------------------
const apiBase = () => (config.agent ? `${location.protocol}//${config.agent}` : '');
const auth = () => ({ Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` });

async function downloadDoc(id, filename) {
  if (!id) return;
  try {
    const resp = await fetch(`${apiBase()}/agent/v1/documents/${encodeURIComponent(id)}`, { headers: auth() });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const url = URL.createObjectURL(await resp.blob());
    const a = el('a', { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    flash(`Cannot download: ${err.message}`);
  }
}

// api calls a JSON API of the agent listener with the agent's token; a refusal throws an Error
// with the server's message, status and field.
async function api(method, path, body) {
  const headers = auth();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(`${apiBase()}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw Object.assign(new Error((data && data.message) || `HTTP ${resp.status}`), { status: resp.status, field: data && data.field });
  return data;
}

// ---- start ---------------------------------------------------------------------------------------
routing = createRouting({ $, el, request, openChat, chats, endChat, flash, alertSound });
konsole = createConsole({ $, el, request, openChat, chats, flash, api });
responses = createResponses({ $, el, api, flash, me: () => me || {} });

async function start() {
  try {
    const r = await fetch('/desk/config.json');
    if (r.ok) config = { ...config, ...(await r.json()) };
  } catch { /* same listener */ }
  // A sign-in link carries the token in the fragment (never sent to a server); keep it for this
  // tab and take it out of the address bar and the history.
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  const t = sessionStorage.getItem(TOKEN_KEY);
  if (t) connect(t); else showSignin('');
}
start();
