// Structured (rich) messages of the desk, in the element formats of docs/rich-messages.md (origin
// genesys-chat): the composer builds quick replies, a card or links with their plain-text
// fallback; render shows a message's structured content in the desk's transcript. Pure DOM
// helpers; everything runs on the page's one thread.

const ORIGIN = 'genesys-chat';

// attributes wraps an element as a message's eventAttributes.
export const attributes = (element) => ({ 'structured-content': { [ORIGIN]: { content: JSON.stringify(element), type: 'Generic' } } });

const safeURL = (u) => { try { const x = new URL(u); return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : ''; } catch { return ''; } };

// build returns {text, attributes} for the composer's fields, or {error, field}.
export function build(kind, f) {
  const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);
  if (kind === 'quick-replies') {
    const q = f.question.trim();
    const choices = lines(f.choices);
    if (!q) return { error: 'Write the question.', field: 'question' };
    if (choices.length < 1 || choices.length > 10) return { error: 'Give one to ten choices, one a line.', field: 'choices' };
    return {
      text: `${q} (${choices.join(' / ')})`,
      attributes: attributes({ type: 'Message', contentType: 'quick-replies', content: choices.map((c, i) => ({ id: String(i + 1), type: 'quick-reply', action: 'message', text: c })) }),
    };
  }
  if (kind === 'card') {
    const title = f.title.trim();
    if (!title) return { error: 'Give the card a title.', field: 'title' };
    const url = f.url.trim() ? safeURL(f.url.trim()) : '';
    if (f.url.trim() && !url) return { error: 'The link must be an http or https URL.', field: 'url' };
    const image = f.image.trim() ? safeURL(f.image.trim()) : '';
    if (f.image.trim() && !image) return { error: 'The image must be an http or https URL.', field: 'image' };
    const actions = [];
    if (url) actions.push({ id: '1a', type: 'Url', text: f.linkText.trim() || 'Open', url });
    if (f.reply.trim()) actions.push({ id: '1b', type: 'Postback', text: f.reply.trim() });
    const card = { id: '1', title };
    if (f.subtitle.trim()) card.subtitle = f.subtitle.trim();
    if (image) card.image = image;
    if (actions.length) card.actions = actions;
    return {
      text: [title, f.subtitle.trim(), url].filter(Boolean).join(' — '),
      attributes: attributes({ type: 'Structured', contentType: 'generic', content: [card] }),
    };
  }
  // links: "text | url" a line
  const items = [];
  for (const [i, l] of lines(f.links).entries()) {
    const [t, u] = l.includes('|') ? l.split('|').map((x) => x.trim()) : ['', l];
    const url = safeURL(u);
    if (!url) return { error: `Line ${i + 1}: the link must be an http or https URL ("text | URL").`, field: 'links' };
    items.push({ id: String(i + 1), type: 'Url', text: t || url, url });
  }
  if (!items.length) return { error: 'Give at least one link: "text | URL", one a line.', field: 'links' };
  return {
    text: items.map((x) => (x.text === x.url ? x.url : `${x.text}: ${x.url}`)).join('\n'),
    attributes: attributes({ type: 'Structured', contentType: 'buttons', content: items }),
  };
}

// parse returns the widget element of a message's eventAttributes, or null.
export function parse(attrs) {
  const node = attrs && attrs['structured-content'] && attrs['structured-content'][ORIGIN];
  if (!node || !node.content) return null;
  try {
    const v = typeof node.content === 'string' ? JSON.parse(node.content) : node.content;
    return v && Array.isArray(v.content) ? v : null;
  } catch { return null; }
}

// render shows an element (what the customer's widget renders) under a message in the desk.
export function render(el, element) {
  const box = el('div', { class: 'rich', 'data-testid': 'desk-rich', 'data-rich': element.contentType });
  for (const item of element.content.slice(0, 20)) {
    if (element.contentType === 'quick-replies') {
      box.append(el('span', { class: 'chip', text: String(item.text || '') }));
    } else if (element.contentType === 'generic') {
      const card = el('div', { class: 'card' }, el('strong', { text: String(item.title || '') }),
        item.subtitle ? el('span', { class: 'muted', text: String(item.subtitle) }) : null);
      for (const a of Array.isArray(item.actions) ? item.actions : []) card.append(link(el, a));
      box.append(card);
    } else {
      box.append(link(el, item));
    }
  }
  return box;
}

function link(el, a) {
  const url = a.type === 'Url' ? safeURL(String(a.url || '')) : '';
  return url
    ? el('a', { class: 'chip', href: url, target: '_blank', rel: 'noopener noreferrer', text: String(a.text || url) })
    : el('span', { class: 'chip', text: String(a.text || '') });
}

// composer returns the form of one chat that sends a structured message through send(text, attrs).
export function composer(el, sid, send) {
  const id = (n) => `rich-${n}-${sid}`;
  const input = (n, label, attrs = {}) => [el('label', { for: id(n), text: label }), el(attrs.rows ? 'textarea' : 'input', { id: id(n), 'data-testid': `rich-${n}`, autocomplete: 'off', ...attrs })];
  const kind = el('select', { id: id('kind'), 'data-testid': 'rich-kind' },
    el('option', { value: 'quick-replies', text: 'Quick replies' }), el('option', { value: 'card', text: 'Card' }), el('option', { value: 'links', text: 'Links' }));
  const groups = {
    'quick-replies': el('div', { class: 'rich-fields' }, ...input('question', 'Question'), ...input('choices', 'Choices, one a line', { rows: '3' })),
    card: el('div', { class: 'rich-fields', hidden: true }, ...input('title', 'Title'), ...input('subtitle', 'Subtitle'),
      ...input('image', 'Image URL', { type: 'url' }), ...input('url', 'Link URL', { type: 'url' }), ...input('linkText', 'Link text'),
      ...input('reply', 'Reply button')),
    links: el('div', { class: 'rich-fields', hidden: true }, ...input('links', 'Links: text | URL, one a line', { rows: '3' })),
  };
  const err = el('p', { class: 'error', role: 'alert', 'data-testid': 'rich-error' });
  const go = el('button', { type: 'submit', 'data-testid': 'rich-send', text: 'Send structured message' });
  const form = el('form', { class: 'rich-form', 'aria-label': 'Structured message' },
    el('label', { for: kind.id, text: 'Kind' }), kind, ...Object.values(groups), err, go);
  kind.addEventListener('change', () => { for (const [k, g] of Object.entries(groups)) g.hidden = k !== kind.value; err.textContent = ''; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (n) => (form.querySelector(`#${CSS.escape(id(n))}`) || { value: '' }).value;
    const r = build(kind.value, { question: v('question'), choices: v('choices'), title: v('title'), subtitle: v('subtitle'), image: v('image'), url: v('url'), linkText: v('linkText'), reply: v('reply'), links: v('links') });
    if (r.error) { err.textContent = r.error; form.querySelector(`#${CSS.escape(id(r.field))}`)?.focus(); return; }
    err.textContent = '';
    if (await send(r.text, r.attributes)) {
      form.reset();
      kind.dispatchEvent(new Event('change'));
      box.open = false;
    }
  });
  const box = el('details', { class: 'rich-box', 'data-testid': 'desk-rich-compose' }, el('summary', { text: 'Structured message' }), form);
  return box;
}
