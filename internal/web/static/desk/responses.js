// Standard responses (docs/agent-protocol.md, "Standard responses"): searched beside every chat and
// inserted into its input (a structured one also attaches its rich content to the next send), or
// picked by typing /shortcut and Tab; supervisors create, change and delete them in the console.
// Everything runs on the page's one thread.

// fill replaces {customer} and {agent} in a response's text.
const fill = (text, vars) => text.replace(/\{(customer|agent)\}/g, (m, k) => vars[k] || m);

export function createResponses({ $, el, api, flash, me }) {
  // ---- in a chat ----------------------------------------------------------------------------------
  // panel returns the search box and results of one chat; insert(r) puts a response into its input.
  function panel(c) {
    const sid = c.sessionId;
    const search = el('input', {
      id: `sr-${sid}`, type: 'search', 'data-testid': 'desk-responses-search', placeholder: 'Search or /shortcut', autocomplete: 'off',
    });
    const list = el('ul', { class: 'responses', 'data-testid': 'desk-responses', 'aria-label': 'Standard responses found' });
    let seq = 0;
    async function find() {
      const mine = ++seq;
      let found;
      try {
        found = await api('GET', `/agent/v1/responses?limit=20&q=${encodeURIComponent(search.value.trim())}`);
      } catch (err) {
        list.replaceChildren(el('li', { class: 'muted', text: `Not available: ${err.message}` }));
        return;
      }
      if (mine !== seq) return; // a later search answered first
      const items = found.map((r) => el('li', {},
        el('button', {
          type: 'button', class: 'quiet response', 'data-testid': 'desk-response', 'data-response': r.id,
          'aria-label': `Insert standard response ${r.name}`, title: r.text, onclick: () => insert(c, r),
        }, el('strong', { text: r.name }), r.shortcut ? el('span', { class: 'muted', text: ` /${r.shortcut}` }) : null,
        r.attributes ? el('span', { class: 'vis vis-rich', text: 'RICH', title: 'structured message' }) : null,
        el('span', { class: 'muted snippet', text: r.text }))));
      if (!items.length) items.push(el('li', { class: 'muted', text: search.value.trim() ? 'No standard response matches.' : 'No standard response yet.' }));
      list.replaceChildren(...items);
    }
    let t = 0;
    search.addEventListener('input', () => { clearTimeout(t); t = setTimeout(find, 200); });
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); const b = list.querySelector('button'); if (b) b.click(); }
    });
    c.findResponses = find;
    find();
    return el('div', { class: 'sr-box' }, el('label', { for: search.id, class: 'sr', text: 'Search standard responses' }), search, list);
  }

  // insert puts r's text at the input's cursor; a structured r is attached to the next send.
  function insert(c, r) {
    if (c.ended) return;
    const text = fill(r.text, { customer: c.customerName, agent: me().name });
    const input = c.input;
    const at = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? at;
    input.value = input.value.slice(0, at) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = at + text.length;
    c.setAttachment(r.attributes ? { attributes: r.attributes, label: `standard response “${r.name}”` } : null);
    input.dispatchEvent(new Event('input'));
    input.focus();
  }

  // shortcut expands "/word" in the input with the response of that shortcut; true if it did.
  async function shortcut(c) {
    const m = /^\/([a-z0-9_-]+)$/.exec(c.input.value.trim());
    if (!m) return false;
    let found;
    try { found = await api('GET', `/agent/v1/responses?limit=5&q=${encodeURIComponent(`/${m[1]}`)}`); } catch { return false; }
    const r = found.find((x) => x.shortcut === m[1]);
    if (!r) { flash(`No standard response has the shortcut /${m[1]}.`); return false; }
    c.input.value = '';
    insert(c, r);
    return true;
  }

  // ---- the console's management -------------------------------------------------------------------
  function manage() {
    const form = $('sr-form');
    const err = $('sr-error');
    const fields = ['name', 'category', 'shortcut', 'text', 'attributes'];
    let editing = '';
    async function load() {
      let all;
      try { all = await api('GET', '/agent/v1/responses?limit=1000'); } catch (e) { err.textContent = `Cannot list: ${e.message}`; return; }
      const rows = all.map((r) => el('tr', { 'data-testid': 'console-response', 'data-response': r.id },
        el('th', { scope: 'row', text: r.name }), el('td', { text: r.category }), el('td', { text: r.shortcut ? `/${r.shortcut}` : '' }),
        el('td', { class: 'actions' },
          el('button', { type: 'button', class: 'quiet', 'data-testid': 'console-response-edit', 'aria-label': `Edit ${r.name}`, text: 'Edit', onclick: () => edit(r) }),
          el('button', { type: 'button', class: 'danger', 'data-testid': 'console-response-delete', 'aria-label': `Delete ${r.name}`, text: 'Delete', onclick: (e) => remove(r, e.currentTarget) }))));
      if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No standard response yet.' })));
      $('sr-list').replaceChildren(...rows);
    }
    function edit(r) {
      editing = r ? r.id : '';
      for (const f of fields) {
        const v = r ? r[f] : '';
        $(`sr-${f}`).value = f === 'attributes' ? (v ? JSON.stringify(v, null, 1) : '') : (v || '');
      }
      $('sr-submit').textContent = editing ? 'Save changes' : 'Create';
      $('sr-cancel').hidden = !editing;
      clearErrors();
      if (r) $('sr-name').focus();
    }
    function clearErrors() {
      err.textContent = '';
      for (const f of fields) $(`sr-${f}`).removeAttribute('aria-invalid');
    }
    // remove deletes on the second click of the same button (the first asks to confirm).
    async function remove(r, btn) {
      if (btn.dataset.confirm !== '1') {
        btn.dataset.confirm = '1';
        btn.textContent = 'Confirm delete';
        btn.setAttribute('aria-label', `Confirm deleting ${r.name}`);
        setTimeout(() => { btn.dataset.confirm = ''; btn.textContent = 'Delete'; btn.setAttribute('aria-label', `Delete ${r.name}`); }, 5000);
        return;
      }
      try { await api('DELETE', `/agent/v1/responses/${encodeURIComponent(r.id)}`); } catch (e) { err.textContent = `Not deleted: ${e.message}`; return; }
      if (editing === r.id) edit(null);
      load();
    }
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors();
      const body = {};
      for (const f of ['name', 'category', 'shortcut', 'text']) body[f] = $(`sr-${f}`).value;
      // The server's rules for the required fields and the shortcut, checked here first (the
      // server refuses the rest and names the field, marked the same way below).
      const local = !body.name.trim() ? ['name', 'name: is required']
        : !body.text.trim() ? ['text', 'text: is required']
          : body.shortcut && !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(body.shortcut) ? ['shortcut', 'shortcut: 1 to 32 lower-case letters, digits, \'_\' or \'-\'']
            : null;
      if (local) {
        err.textContent = local[1];
        $(`sr-${local[0]}`).setAttribute('aria-invalid', 'true');
        $(`sr-${local[0]}`).focus();
        return;
      }
      const raw = $('sr-attributes').value.trim();
      if (raw) {
        try { body.attributes = JSON.parse(raw); } catch {
          err.textContent = 'attributes: is not valid JSON';
          $('sr-attributes').setAttribute('aria-invalid', 'true');
          return;
        }
      } else if (editing) body.attributes = null;
      try {
        if (editing) await api('PATCH', `/agent/v1/responses/${encodeURIComponent(editing)}`, body);
        else await api('POST', '/agent/v1/responses', body);
      } catch (e2) {
        // The server names the field at fault: mark it.
        err.textContent = e2.message;
        const f = (e2.field || '').split('.')[0];
        if (fields.includes(f)) { $(`sr-${f}`).setAttribute('aria-invalid', 'true'); $(`sr-${f}`).focus(); }
        return;
      }
      edit(null);
      load();
    });
    $('sr-cancel').addEventListener('click', () => edit(null));
    load();
  }

  return { panel, insert, shortcut, manage };
}
