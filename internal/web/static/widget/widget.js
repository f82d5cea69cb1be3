// Confab chat widget: one <script src=".../widget/widget.js" data-service="..."> tag on any
// page (any origin). It speaks the customer Chat API v2: REST calls for the requests and the
// WebSocket push for the events, or, with data-transport="cometd", the CometD form of the API
// (cometd.js; files still go over REST). Rich messages are rendered by rich.js. The chat
// survives page reloads and closed tabs (the session is kept in localStorage) and network drops
// (the push reconnects from the last position; events are shown once each, by index; a message
// resent after a lost answer keeps its clientMessageId, so the server adds it once).
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || window.__confabWidget) return;
  window.__confabWidget = true;
  const ds = script.dataset;
  const base = (ds.api || new URL(script.src, location.href).origin).replace(/\/$/, '');
  const service = ds.service || 'customer-support';
  const title = ds.title || 'Chat with us';
  const fields = (ds.fields || 'name,email,subject').split(',').map((f) => f.trim()).filter(Boolean);
  const asyncMode = ds.async === 'true';
  const transport = ds.transport === 'cometd' ? 'cometd' : 'rest';
  // The widget's other modules, from the same node (the host page's origin does not matter: the
  // node serves them with CORS headers).
  let rich = null;
  let bayeux = null;
  const modules = Promise.all([
    import(`${base}/widget/rich.js`),
    transport === 'cometd' ? import(`${base}/widget/cometd.js`) : null,
  ]).then(([r, c]) => {
    rich = r;
    if (c) bayeux = new c.Bayeux(base, service, { onData: (f) => fromBayeux(f), onDown: () => { if (chat && !chat.ended) reconnect(); },
      onGone: () => say('This chat goes on in another window.') });
  });
  const storeKey = `confab-widget:${base}:${service}`;
  const api = `${base}/genesys/2/chat/${encodeURIComponent(service)}`;

  // ---- DOM helpers -------------------------------------------------------------------------
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
  const uid = () => Math.random().toString(36).slice(2, 10);

  // ---- styles and theme ----------------------------------------------------------------------
  document.head.append(el('link', { rel: 'stylesheet', href: `${base}/widget/widget.css` }));
  const root = el('div', { id: 'confab-widget', class: `cfb cfb-${ds.position === 'left' ? 'left' : 'right'}` });
  if (ds.color) root.style.setProperty('--cfb-accent', ds.color);
  if (ds.textColor) root.style.setProperty('--cfb-on-accent', ds.textColor);
  // Until the style sheet has loaded the widget stays out of the way.
  root.style.setProperty('visibility', 'hidden');

  const panelId = `cfb-panel-${uid()}`;
  const launcher = el('button', {
    type: 'button', class: 'cfb-launcher', 'aria-controls': panelId, 'aria-expanded': 'false',
    'data-testid': 'chat-open', text: title,
  });
  const closeBtn = el('button', { type: 'button', class: 'cfb-icon', 'aria-label': 'Minimise chat', text: '–' });
  const heading = el('h2', { class: 'cfb-title', id: `${panelId}-title`, text: title });
  const status = el('p', { class: 'cfb-status', role: 'status', 'aria-live': 'polite' });

  // Pre-chat form.
  const field = (name, label, type, required, autocomplete) => {
    const id = `${panelId}-${name}`;
    const input = el('input', {
      id, name, type, required, autocomplete, 'data-testid': `prechat-${name}`,
      maxlength: name === 'subject' ? '1024' : '254',
    });
    return { input, row: el('div', { class: 'cfb-field' }, el('label', { for: id, text: label }), input) };
  };
  const name = field('name', 'Your name', 'text', true, 'name');
  const email = field('email', 'Email (optional)', 'email', false, 'email');
  const subject = field('subject', 'How can we help? (optional)', 'text', false, 'off');
  const startBtn = el('button', { type: 'submit', class: 'cfb-primary', 'data-testid': 'prechat-start', text: 'Start chat' });
  const prechat = el('form', { class: 'cfb-prechat', 'aria-label': 'Start a chat', novalidate: true },
    el('p', { class: 'cfb-intro', text: ds.greeting || 'Hello! Tell us who you are and we will connect you with an agent.' }),
    name.row,
    fields.includes('email') ? email.row : null,
    fields.includes('subject') ? subject.row : null,
    startBtn);

  // Conversation.
  const log = el('ol', { class: 'cfb-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation', tabindex: '0' });
  const typing = el('p', { class: 'cfb-typing', 'aria-live': 'polite', 'data-testid': 'chat-typing' });
  const inputId = `${panelId}-input`;
  const input = el('textarea', {
    id: inputId, rows: '2', class: 'cfb-input', 'data-testid': 'chat-input', maxlength: '14000',
    placeholder: 'Write a message…', 'aria-describedby': `${panelId}-hint`,
  });
  const sendBtn = el('button', { type: 'submit', class: 'cfb-primary', 'data-testid': 'chat-send', text: 'Send' });
  const compose = el('form', { class: 'cfb-compose', 'aria-label': 'Write a message' },
    el('label', { for: inputId, class: 'cfb-sr', text: 'Message' }), input, sendBtn,
    el('span', { id: `${panelId}-hint`, class: 'cfb-sr', text: 'Enter sends, Shift+Enter starts a new line' }));
  // File upload, shown with the server's limits once they allow one.
  const fileId = `${panelId}-file`;
  const fileInput = el('input', { id: fileId, type: 'file', class: 'cfb-file', 'data-testid': 'chat-file-input', 'aria-describedby': `${fileId}-limits` });
  const fileLimits = el('span', { id: `${fileId}-limits`, class: 'cfb-limits', 'data-testid': 'chat-file-limits' });
  const attach = el('div', { class: 'cfb-attach', hidden: true },
    el('label', { for: fileId, class: 'cfb-link', text: 'Attach a file' }), fileInput, fileLimits);
  const endBtn = el('button', { type: 'button', class: 'cfb-link', 'data-testid': 'chat-end', text: 'End chat' });
  const actions = el('div', { class: 'cfb-actions' }, attach, endBtn);
  const conversation = el('div', { class: 'cfb-chat', hidden: true }, log, typing, compose, actions);

  // Ended state.
  const download = el('a', { class: 'cfb-link', 'data-testid': 'chat-transcript', text: 'Download transcript' });
  const againBtn = el('button', { type: 'button', class: 'cfb-primary', 'data-testid': 'chat-new', text: 'Start a new chat' });
  const ended = el('div', { class: 'cfb-ended', hidden: true, 'data-testid': 'chat-ended' },
    el('p', { text: 'This chat has ended. Thank you!' }), download, againBtn);

  const panel = el('section', {
    id: panelId, class: 'cfb-panel', role: 'dialog', 'aria-labelledby': heading.id, hidden: true,
  }, el('header', { class: 'cfb-head' }, heading, closeBtn), status, prechat, conversation, ended);
  root.append(panel, launcher);

  // ---- state ----------------------------------------------------------------------------------
  let chat = load(); // {chatId, userId, secureKey, alias, next, ended}
  let ws = null;
  let retry = 0;
  let retryTimer = 0;
  const seen = new Set(); // indexes shown
  const names = new Map(); // participantId -> nickname
  let typingSent = false;
  let typingTimer = 0;
  let lastRead = 0;
  const transcript = []; // lines for the download

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || null; } catch { return null; }
  }
  function save() {
    try {
      if (chat) localStorage.setItem(storeKey, JSON.stringify(chat));
      else localStorage.removeItem(storeKey);
    } catch { /* storage refused: the chat lasts as long as the page */ }
  }
  const say = (text) => { status.textContent = text; };

  // ---- REST -----------------------------------------------------------------------------------
  async function post(path, params) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') body.append(k, v);
    const resp = await fetch(api + path, { method: 'POST', body, mode: 'cors', credentials: 'omit' });
    return resp.json();
  }
  const session = () => ({ userId: chat.userId, secureKey: chat.secureKey, alias: chat.alias });
  // The CometD names of the operations whose REST names differ.
  const cometdOps = { send: 'sendMessage', refresh: 'requestNotifications' };
  // op runs a Chat API operation on the chat. Over CometD the answer arrives on the channel
  // (fromBayeux), so the promise only says the server took the request; files always use REST.
  const op = (name, params = {}) => {
    if (bayeux && !name.startsWith('file')) {
      return bayeux.publish({ operation: cometdOps[name] || name, chatId: chat.chatId, ...session(), ...params }).then(() => ({ statusCode: 0 }));
    }
    return post(`/${encodeURIComponent(chat.chatId)}/${name}`, { ...session(), ...params });
  };

  // ---- views ----------------------------------------------------------------------------------
  // show switches between the pre-chat form, the chat and the ended chat (its transcript stays
  // readable above the ended notice; only the controls to write go).
  function show(view) {
    prechat.hidden = view !== 'prechat';
    conversation.hidden = view === 'prechat';
    compose.hidden = view !== 'chat';
    actions.hidden = view !== 'chat';
    typing.hidden = view !== 'chat';
    ended.hidden = view !== 'ended';
  }
  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.hidden = true;
    const focus = !prechat.hidden ? name.input : !conversation.hidden ? input : againBtn;
    focus.focus();
    markRead();
  }
  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }
  launcher.addEventListener('click', open);
  closeBtn.addEventListener('click', close);
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });

  // ---- transcript -----------------------------------------------------------------------------
  const kindOf = (m) => m.type;
  function isBot(m) {
    const s = m.eventAttributes && m.eventAttributes.GCTI_SYSTEM;
    return !!(s && s['party-info'] && s['party-info'].style === 'BOT');
  }
  function timeOf(m) {
    const d = new Date(Number(m.utcTime) || Date.now());
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  function add(m) {
    if (seen.has(m.index)) return;
    seen.add(m.index);
    const from = m.from || {};
    const fromType = from.type || 'External';
    if (from.participantId !== undefined && from.nickname) names.set(from.participantId, from.nickname);
    const mine = fromType === 'Client' && from.participantId === 1;
    const who = mine ? 'You' : (from.nickname || 'Agent');
    let item = null;
    switch (kindOf(m)) {
      case 'Message': {
        const bot = isBot(m);
        // Rich content replaces the text (its fallback) when the widget knows its type; quick
        // replies go under the text. The customer's own messages end any earlier quick replies.
        const r = rich.render(m, { el, mine, reply: (text, to) => sendText(text, { 'general-properties': { 'related-event-id': String(to.index) } }) });
        if (mine) for (const b of log.querySelectorAll('.cfb-quick-replies button')) b.disabled = true;
        const text = rich.linkify(el, el('p', { class: 'cfb-text' }), m.text || '');
        item = el('li', { class: `cfb-msg ${mine ? 'cfb-mine' : 'cfb-theirs'}${bot ? ' cfb-bot' : ''}` },
          mine ? null : el('span', { class: 'cfb-avatar', 'aria-hidden': 'true', text: (from.nickname || '?').slice(0, 1).toUpperCase() }),
          el('div', { class: 'cfb-col' },
            el('div', { class: 'cfb-bubble' },
              el('span', { class: 'cfb-from', text: bot ? `${who} (bot)` : who }),
              r.body || text,
              el('time', { class: 'cfb-time', text: timeOf(m) })),
            r.replies));
        if (r.body || r.replies) item.dataset.rich = r.replies ? 'quick-replies' : r.body.classList.contains('cfb-buttons') ? 'buttons' : 'cards';
        transcript.push(`[${timeOf(m)}] ${who}: ${m.text || ''}`);
        if (!mine) { typing.textContent = ''; markRead(m.index); }
        break;
      }
      case 'ParticipantJoined':
        if (!mine) { item = system(`${who} joined the chat`, m); loadLimits(); }
        if (m.text) item = item || system(m.text, m);
        break;
      case 'ParticipantLeft':
        item = system(mine ? 'You left the chat' : `${who} left the chat`, m);
        break;
      case 'TypingStarted':
        if (!mine) typing.textContent = `${who} is typing…`;
        break;
      case 'TypingStopped':
        if (!mine) typing.textContent = '';
        break;
      case 'PushUrl': {
        let href = '';
        try { href = new URL(m.text).href; } catch { /* not a URL */ }
        item = el('li', { class: 'cfb-system' }, `${who} shared a link: `,
          /^https?:/.test(href) ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: m.text }) : m.text);
        break;
      }
      case 'IdleAlert': case 'IdleClose':
        // Inactivity alerts: said at once to screen readers, marked for the eye.
        if (m.text) { item = system(m.text, m); item.classList.add('cfb-alert'); item.setAttribute('role', 'alert'); }
        break;
      case 'Notice':
        if (m.text) item = system(m.text, m);
        break;
      case 'NicknameUpdated':
        item = system(`${who} is now ${m.text}`, m);
        break;
      case 'CustomNotice':
        if (m.text === 'read-confirm') markSeen(Number(m.userData && m.userData['last-event-id']));
        break;
      case 'FileUploaded': {
        const f = m.userData || {};
        const label = `${f['file-name'] || 'file'} (${size(Number(f['file-size']) || 0)})`;
        transcript.push(`[${timeOf(m)}] ${who} shared the file ${label}`);
        item = el('li', { class: 'cfb-system' }, `${who} shared `, el('button', {
          type: 'button', class: 'cfb-link', 'data-testid': 'chat-file', 'aria-label': `Download ${label}`, text: label,
          onclick: () => downloadFile(f['file-id'], f['file-name'] || 'file'),
        }));
        if (!mine) markRead(m.index);
        break;
      }
      default:
        break;
    }
    if (!item) return;
    item.dataset.testid = 'chat-message';
    item.dataset.kind = m.type;
    item.dataset.fromType = fromType;
    item.dataset.index = String(m.index);
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }
  function system(text, m) {
    if (m) transcript.push(`[${timeOf(m)}] ${text}`);
    return el('li', { class: 'cfb-system', text });
  }
  function markSeen(upTo) {
    for (const li of log.querySelectorAll('.cfb-mine')) {
      if (Number(li.dataset.index) <= upTo && !li.querySelector('.cfb-seen')) {
        li.querySelector('.cfb-bubble').append(el('span', { class: 'cfb-seen', text: 'Seen' }));
      }
    }
  }
  function markRead(index) {
    if (index) lastRead = Math.max(lastRead, index);
    if (!chat || chat.ended || panel.hidden || document.visibilityState !== 'visible' || !lastRead) return;
    if (lastRead <= (chat.read || 0)) return;
    chat.read = lastRead;
    save();
    op('readReceipt', { transcriptPosition: String(lastRead) }).catch(() => {});
  }
  document.addEventListener('visibilitychange', () => markRead());

  // ---- files ----------------------------------------------------------------------------------
  let limits = null;
  const size = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} kB` : `${n} B`);
  async function loadLimits() {
    if (!chat || chat.ended) return;
    try {
      const r = await op('file/limits');
      const l = r.messages && r.messages[0] && r.messages[0].userData;
      if (!l) return;
      limits = l;
      const left = Number(l['upload-max-files']) - Number(l['used-upload-max-files']);
      const max = Number(l['upload-max-file-size']);
      attach.hidden = !(left > 0 && max > 0);
      const types = (l['upload-file-types'] || '').split(':').filter(Boolean);
      fileInput.accept = types.map((t) => `.${t}`).join(',');
      fileLimits.textContent = `up to ${size(max)}${types.length ? `; ${types.join(', ')}` : ''}; ${left} left`;
    } catch { /* no file transfer */ }
  }
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (!file || !chat || !limits) return;
    if (file.size > Number(limits['upload-max-file-size'])) { say(`The file is larger than ${size(Number(limits['upload-max-file-size']))}.`); return; }
    const form = new FormData();
    for (const [k, v] of Object.entries(session())) form.append(k, v);
    form.append('file', file, file.name);
    say(`Sending ${file.name}…`);
    try {
      const resp = await fetch(`${api}/${encodeURIComponent(chat.chatId)}/file`, { method: 'POST', body: form, mode: 'cors', credentials: 'omit' });
      const r = await resp.json();
      say(r.statusCode === 0 ? '' : `Not sent: ${(r.errors && r.errors[0] && r.errors[0].advice) || 'refused'}`);
    } catch {
      say('Not sent: the chat server cannot be reached.');
    }
    loadLimits();
  });
  async function downloadFile(id, filename) {
    if (!chat || !id) return;
    try {
      const resp = await fetch(`${api}/${encodeURIComponent(chat.chatId)}/file/${encodeURIComponent(id)}/download`,
        { method: 'POST', body: new URLSearchParams(session()), mode: 'cors', credentials: 'omit' });
      const type = resp.headers.get('Content-Type') || '';
      if (!resp.ok || type.startsWith('application/json')) { say('The file cannot be downloaded.'); return; }
      const url = URL.createObjectURL(await resp.blob());
      const a = el('a', { href: url, download: filename });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch {
      say('The file cannot be downloaded.');
    }
  }

  // ---- push -----------------------------------------------------------------------------------
  function connect() {
    if (!chat || chat.ended) return;
    if (bayeux) { connectBayeux(); return; }
    const q = new URLSearchParams({ ...session(), transcriptPosition: String(seen.size ? chat.next : 1) });
    const url = `${api.replace(/^http/, 'ws')}/${encodeURIComponent(chat.chatId)}/ws?${q}`;
    const sock = new WebSocket(url);
    ws = sock;
    // The open socket alone is not activity: a keepalive frame every 15 s is (flex-disconnect-timeout).
    let alive = 0;
    sock.onopen = () => { retry = 0; retryTimer = 0; say(''); alive = setInterval(() => sock.send('{}'), 15000); };
    sock.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      receive(f);
    };
    sock.onclose = (ev) => {
      clearInterval(alive);
      if (ws !== sock) return;
      ws = null;
      if (!chat || chat.ended) return;
      if (ev.code === 4401) { finish(); return; }
      if (ev.code === 4008) { catchUp().then(connect, reconnect); return; }
      reconnect();
    };
  }
  function reconnect() {
    // A message that could not be sent says so until the connection is back.
    if (!status.textContent.startsWith('Not sent')) say('Connection lost, reconnecting…');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, Math.min(10000, 500 * 2 ** retry++));
  }
  // Back online: reconnect at once rather than at the next back-off step.
  window.addEventListener('online', () => {
    if (!chat || chat.ended || ws || !retryTimer) return;
    clearTimeout(retryTimer);
    retryTimer = 0;
    connect();
  });
  // CometD: handshake, subscribe, then ask for the events from the last position; the server
  // then follows the chat on the channel.
  async function connectBayeux() {
    try {
      await bayeux.start();
      retry = 0;
      retryTimer = 0;
      // A message the lost connection did not take stays in the input, and says so.
      if (!status.textContent.startsWith('Not sent')) say('');
      await op('refresh', { transcriptPosition: String(seen.size ? chat.next : 1) });
    } catch {
      if (chat && !chat.ended) reconnect();
    }
  }
  let awaitingChat = null; // resolves with the requestChat answer over CometD
  function fromBayeux(f) {
    if (!chat) { if (awaitingChat) awaitingChat(f); return; }
    if (f.chatId && f.chatId !== chat.chatId) return;
    if (f.statusCode !== 0 && f.errors && f.errors.length && !f.chatEnded) {
      say(`Not sent: ${f.errors[0].advice || 'refused'}`);
    }
    // Answers to sends and notices carry the position after their own event but not the
    // events themselves: only the events shown move the position here.
    receive(f, false);
  }
  async function catchUp() {
    for (;;) {
      const f = await op('refresh', { transcriptPosition: String(chat.next) });
      receive(f);
      if (!f.messages || f.messages.length < 1000) return;
    }
  }
  // receive shows a Chat API body's events; full says the body holds every event up to its
  // nextPosition (a push frame, a refresh), so the position may move past hidden ones.
  function receive(f, full = true) {
    for (const m of f.messages || []) {
      add(m);
      if (m.index > 0 && m.index + 1 > (chat.next || 0)) chat.next = m.index + 1;
    }
    if (full && typeof f.nextPosition === 'number' && f.nextPosition > (chat.next || 0)) chat.next = f.nextPosition;
    save();
    if (f.chatEnded) finish();
  }
  function finish() {
    if (!chat) return;
    chat.ended = true;
    save();
    if (ws) { const s = ws; ws = null; s.close(1000); }
    if (bayeux) bayeux.stop();
    clearTimeout(retryTimer);
    typing.textContent = '';
    const blob = new Blob([`${title}\n\n${transcript.join('\n')}\n`], { type: 'text/plain' });
    download.href = URL.createObjectURL(blob);
    download.download = `chat-${chat.chatId}.txt`;
    show('ended');
    say('');
  }

  // ---- actions --------------------------------------------------------------------------------
  prechat.addEventListener('submit', async (e) => {
    e.preventDefault();
    const nick = name.input.value.trim();
    if (!nick) {
      name.input.setAttribute('aria-invalid', 'true');
      say('Please enter your name.');
      name.input.focus();
      return;
    }
    name.input.removeAttribute('aria-invalid');
    startBtn.disabled = true;
    say('Connecting…');
    try {
      await modules;
      const params = { nickname: nick, emailAddress: email.input.value.trim(), subject: subject.input.value.trim() };
      let r;
      if (bayeux) {
        await bayeux.start();
        const answer = new Promise((resolve) => { awaitingChat = resolve; });
        await bayeux.publish({ operation: 'requestChat', ...params, ...(asyncMode ? { userData: { GCTI_Chat_AsyncMode: 'true' } } : {}) });
        r = await answer;
        awaitingChat = null;
      } else {
        if (asyncMode) params['userData[GCTI_Chat_AsyncMode]'] = 'true';
        r = await post('/', params);
      }
      if (r.statusCode !== 0 || !r.chatId) {
        say(`The chat could not start: ${(r.errors && r.errors[0] && r.errors[0].advice) || 'unknown error'}`);
        if (bayeux) bayeux.stop();
        return;
      }
      chat = { chatId: r.chatId, userId: r.userId, secureKey: r.secureKey, alias: r.alias, next: 1 };
      save();
      if (bayeux) receive(r, false); // the server follows the chat on this connection already
      begin(!bayeux);
    } catch (err) {
      say('The chat server cannot be reached. Please try again.');
    } finally {
      startBtn.disabled = false;
    }
  });
  async function begin(push = true) {
    await modules;
    show('chat');
    say('');
    if (push) connect();
    loadLimits();
    if (!panel.hidden) input.focus();
  }
  // sendText sends a customer message. A text whose answer was lost keeps its clientMessageId
  // when sent again, so the server adds it once however often the customer retries.
  const unanswered = new Map(); // text -> clientMessageId
  async function sendText(text, attrs) {
    if (!chat || chat.ended) return false;
    const id = unanswered.get(text) || uid() + uid();
    unanswered.set(text, id);
    const params = { message: text, messageType: 'text', clientMessageId: id };
    if (attrs) params.eventAttributes = bayeux ? attrs : JSON.stringify(attrs);
    try {
      const r = await op('send', params);
      unanswered.delete(text);
      if (r.statusCode !== 0) {
        say(`Not sent: ${(r.errors && r.errors[0] && r.errors[0].advice) || 'error'}`);
        if (r.chatEnded) finish();
      }
      return true;
    } catch {
      say('Not sent: the chat server cannot be reached.');
      return false;
    }
  }
  compose.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || !chat || chat.ended) return;
    input.value = '';
    clearTimeout(typingTimer);
    typingSent = false;
    if (!(await sendText(text))) input.value = text;
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      compose.requestSubmit();
    }
  });
  // A keypress that arrives on its own (input methods, automation) must not leave a newline behind.
  input.addEventListener('keypress', (e) => { if (e.key === 'Enter' && !e.shiftKey) e.preventDefault(); });
  input.addEventListener('input', () => {
    if (!chat || chat.ended) return;
    if (!typingSent && input.value.trim()) {
      typingSent = true;
      op('startTyping', { message: input.value.slice(0, 200) }).catch(() => {});
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      if (!typingSent) return;
      typingSent = false;
      op('stopTyping').catch(() => {});
    }, 3000);
  });
  endBtn.addEventListener('click', async () => {
    if (!chat) return;
    try {
      const r = await op('disconnect');
      receive(r);
    } catch { /* the push or the next start tells */ }
    finish();
  });
  againBtn.addEventListener('click', () => {
    chat = null;
    unanswered.clear();
    save();
    seen.clear();
    transcript.length = 0;
    log.replaceChildren();
    lastRead = 0;
    show('prechat');
    name.input.focus();
  });

  // ---- start ----------------------------------------------------------------------------------
  const mount = () => {
    document.body.append(root);
    const link = document.head.querySelector(`link[href="${base}/widget/widget.css"]`);
    const reveal = () => root.style.removeProperty('visibility');
    if (link && !link.sheet) link.addEventListener('load', reveal, { once: true }); else reveal();
    if (link) link.addEventListener('error', reveal, { once: true });
    if (chat && chat.ended) { chat = null; save(); }
    if (chat) {
      chat.next = 1; // a new page shows the whole transcript again, each event once
      begin();
      if (chat.open !== false) open();
    } else {
      show('prechat');
      if (ds.open === 'true') open();
    }
  };
  launcher.addEventListener('click', () => { if (chat) { chat.open = true; save(); } });
  closeBtn.addEventListener('click', () => { if (chat) { chat.open = false; save(); } });
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
