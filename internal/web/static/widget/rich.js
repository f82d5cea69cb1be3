// Confab chat widget: rich messages (docs/rich-messages.md). A message may carry structured
// content in its eventAttributes (structured-content → genesys-chat → content, the widget
// channel's JSON as a string, and an optional type); its text is always the plain fallback. This
// module turns the content types the widget knows — quick replies, cards (generic; carousel and
// list are read the same way) with link and reply actions, and link buttons — into DOM elements;
// anything else, or content that does not parse, shows the fallback text instead. Links open
// only http(s) URLs, in a new tab; nothing is ever inserted as HTML.

const ORIGIN = 'genesys-chat';

// structured returns the parsed genesys-chat content of message m, or null.
export function structured(m) {
  const sc = m.eventAttributes && m.eventAttributes['structured-content'];
  const node = sc && sc[ORIGIN];
  if (!node || node.content === undefined) return null;
  let c = node.content;
  if (typeof c === 'string') {
    try { c = JSON.parse(c); } catch { return null; }
  }
  return c && typeof c === 'object' ? c : null;
}

// safeURL returns href when it is an absolute http(s) URL, else ''.
export function safeURL(href) {
  try {
    const u = new URL(String(href));
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : '';
  } catch {
    return '';
  }
}

// linkify appends text to parent with every http(s) URL in it made a link.
export function linkify(el, parent, text) {
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    const href = safeURL(m[0]);
    if (!href) continue;
    if (m.index > last) parent.append(text.slice(last, m.index));
    parent.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'cfb-inline-link', text: m[0] }));
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
  return parent;
}

const str = (v, max = 500) => (typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, max) : '');

// render returns {body, replies} for message m: body replaces the text bubble's content (null:
// show the fallback text), replies is an element of quick-reply buttons (or null). ctx has el
// (the widget's element factory), reply(text, m) (sends a customer message answering m) and
// mine (whether the customer sent m: its buttons are not offered back to it).
export function render(m, ctx) {
  const c = structured(m);
  if (!c || ctx.mine) return { body: null, replies: null };
  const type = str(c.contentType || c.type).toLowerCase();
  const items = Array.isArray(c.content) ? c.content.slice(0, 20) : [];
  if (type === 'quick-replies' || type === 'quickreplies') {
    const replies = quickReplies(items, m, ctx);
    return { body: null, replies };
  }
  if (type === 'buttons') {
    const links = items.map((it) => action(it, m, ctx)).filter(Boolean);
    if (!links.length) return { body: null, replies: null };
    const body = ctx.el('div', { class: 'cfb-buttons', role: 'group', 'aria-label': str(c.title) || 'Links' });
    body.append(...links);
    return { body, replies: null };
  }
  if (type === 'generic' || type === 'carousel' || type === 'list' || type === 'cards') {
    const cards = items.map((it) => card(it, m, ctx)).filter(Boolean);
    if (!cards.length) return { body: null, replies: null };
    const body = ctx.el('div', { class: `cfb-cards${cards.length > 1 ? ' cfb-carousel' : ''}`, role: 'group', 'aria-label': str(c.title) || 'Options' });
    body.append(...cards);
    return { body, replies: null };
  }
  return { body: null, replies: null };
}

function quickReplies(items, m, ctx) {
  const { el } = ctx;
  const buttons = items.map((it) => {
    const text = str(it.text || it.title || it.payload, 200);
    if (!text) return null;
    const href = safeURL(it.url);
    if (href) return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'cfb-quick-reply', 'data-testid': 'chat-quick-reply', text });
    return el('button', {
      type: 'button', class: 'cfb-quick-reply', 'data-testid': 'chat-quick-reply', text,
      onclick: (e) => { e.currentTarget.closest('.cfb-quick-replies').dataset.used = 'true'; ctx.reply(text, m); },
    });
  }).filter(Boolean);
  if (!buttons.length) return null;
  const group = el('div', { class: 'cfb-quick-replies', role: 'group', 'aria-label': 'Suggested replies' });
  group.append(...buttons);
  return group;
}

function card(it, m, ctx) {
  if (!it || typeof it !== 'object') return null;
  const { el } = ctx;
  const title = str(it.title, 200);
  const desc = str(it.desc || it.description || it.subtitle, 1000);
  if (!title && !desc) return null;
  const img = safeURL(it.image || it.imageUrl);
  const actions = (Array.isArray(it.actions) ? it.actions : []).slice(0, 5).map((a) => action(a, m, ctx)).filter(Boolean);
  return el('article', { class: 'cfb-card', 'data-testid': 'chat-card', 'aria-label': title || desc.slice(0, 60) },
    img ? el('img', { src: img, alt: str(it.imageAlt, 200) || title, loading: 'lazy' }) : null,
    title ? el('h3', { class: 'cfb-card-title', text: title }) : null,
    desc ? linkify(el, el('p', { class: 'cfb-card-desc' }), desc) : null,
    actions.length ? el('div', { class: 'cfb-card-actions' }, ...actions) : null);
}

// action is a card's or a button list's action: a link (Url, or any action with an http(s) url)
// opened in a new tab, a reply (Postback: sends its text, like a quick reply), or — for a url
// that is not http(s) — plain text.
function action(a, m, ctx) {
  if (!a || typeof a !== 'object') return null;
  const { el } = ctx;
  const text = str(a.text || a.title, 120);
  if (!text) return null;
  if (a.url !== undefined) {
    const href = safeURL(a.url);
    if (href) return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'cfb-card-action', 'data-testid': 'chat-card-link', text });
    return el('span', { class: 'cfb-card-text', text: `${text}: ${str(a.url, 300)}` });
  }
  return el('button', { type: 'button', class: 'cfb-card-action', 'data-testid': 'chat-card-button', text, onclick: () => ctx.reply(str(a.payload, 200) || text, m) });
}
