// USD1 bridge explorer: a small page over the relayer's JSON routes (/v1/explorer/…,
// /v1/supply). No framework and no build step; the DOM is built with textContent only (what
// the chains and the relayer say is never parsed as HTML). Live views poll with backoff.
'use strict';

(() => {
  const API = new URL('../v1/', location.href);
  const api = (path) => new URL(path, API).href;
  const view = document.getElementById('view');
  const form = document.getElementById('search');
  const input = document.getElementById('q');

  // Each route change starts a new generation; polls of older ones stop.
  let generation = 0;
  let config = null;
  // Whether the view changed inside the page (then focus moves to its title, for screen
  // readers); not on the first load, where focus stays at the top of the page.
  let navigated = false;

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  async function getJSON(path) {
    const response = await fetch(api(path), { headers: { Accept: 'application/json' } });
    let body = {};
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  async function loadConfig() {
    if (!config) config = await getJSON('explorer/config');
    return config;
  }

  // Polls `load` and calls `render` when the answer changed; backs off while nothing changes
  // (base → max) and on errors (up to 30 s); stops when `more(answer)` is false.
  function poll(gen, load, render, { base = 1000, max = 8000, more = () => true, onError } = {}) {
    let delay = base;
    let last = null;
    const tick = async () => {
      if (gen !== generation) return;
      let data;
      try {
        data = await load();
      } catch (e) {
        if (gen !== generation) return;
        if (onError) onError(e);
        delay = Math.min(delay * 2, 30000);
        setTimeout(tick, delay);
        return;
      }
      if (gen !== generation) return;
      const text = JSON.stringify(data);
      if (text !== last) {
        last = text;
        delay = base;
        render(data);
      } else {
        delay = Math.min(Math.round(delay * 1.5), max);
      }
      if (more(data)) setTimeout(tick, document.hidden ? Math.max(delay, max) : delay);
    };
    tick();
  }

  // ---- formatting ---------------------------------------------------------------------

  function utc(ms) {
    if (!ms) return null;
    return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function ago(ms) {
    if (!ms) return '';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  function time(ms) {
    if (!ms) return null;
    return h('time', { datetime: new Date(ms).toISOString(), title: utc(ms) }, `${utc(ms)} (${ago(ms)})`);
  }

  const usd1 = (amount) => (amount === null || amount === undefined ? 'unknown amount' : `${amount} USD1`);

  // A transaction: its hash, linked to the chain's block explorer when one is configured.
  function txLink(tx) {
    if (!tx || !tx.hash) return null;
    const code = h('code', { class: 'mono' }, tx.hash);
    if (tx.url) return h('a', { href: tx.url, rel: 'noreferrer noopener', target: '_blank' }, code, h('span', { class: 'visually-hidden' }, ` (on ${tx.chain}'s block explorer, opens a new tab)`));
    return code;
  }

  function transferLink(hash, label) {
    return h('a', { href: `#/transfer/${hash}` }, h('code', { class: 'mono' }, label || hash));
  }

  const STATUS = {
    done: ['✓', 'done'],
    active: ['…', 'in progress'],
    waiting: ['○', 'waiting'],
    held: ['‖', 'held'],
    failed: ['✕', 'failed'],
    skipped: ['⊘', 'skipped'],
    not_reached: ['–', 'not reached'],
  };

  const STATE_WORDS = {
    observed: 'final, queued', attesting: 'collecting attestations', attested: 'attested',
    submitted: 'mint submitted', confirmed: 'minted, final', delivered: 'minted (by someone else)',
    skipped: 'skipped', failed: 'failed', not_final: 'not final yet',
  };
  const stateText = (s) => STATE_WORDS[s] || s;

  function notice(kind, title, ...body) {
    return h('div', { class: `notice ${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, h('h2', {}, title), ...body);
  }

  function heading(text) {
    const el = h('h1', { tabindex: '-1', id: 'view-title' }, text);
    return el;
  }

  function setNav(name) {
    for (const a of document.querySelectorAll('nav a')) {
      if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  function focusTitle() {
    const t = document.getElementById('view-title');
    if (t && navigated && document.activeElement !== input) t.focus({ preventScroll: true });
  }

  // ---- routes -------------------------------------------------------------------------

  function route() {
    generation += 1;
    const gen = generation;
    const hash = location.hash.replace(/^#/, '') || '/';
    const [path, query = ''] = hash.split('?');
    const params = new URLSearchParams(query);
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    view.replaceChildren();
    if (parts[0] === 'transfer' && parts[1]) { setNav(''); showTransfer(gen, parts[1], params); }
    else if (parts[0] === 'search' && parts[1]) { setNav('home'); showSearch(gen, parts[1]); }
    else if (parts[0] === 'recent') { setNav('recent'); showRecent(gen, params); }
    else if (parts[0] === 'supply') { setNav('supply'); showSupply(gen); }
    else { setNav('home'); showHome(gen); }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const target = `#/search/${encodeURIComponent(q)}`;
    if (location.hash === target) route(); else location.hash = target;
  });
  window.addEventListener('hashchange', () => { navigated = true; route(); });

  // ---- home and search ----------------------------------------------------------------

  function showHome(gen) {
    view.append(
      heading('Find a transfer'),
      h('p', {}, 'Paste the transaction that burned your USD1 (an EVM transaction hash or a Solana signature), the message hash, or the sender or recipient address. The page follows the transfer live: burned → final → attested → submitted → minted → final.'),
      h('h2', {}, 'Latest transfers'),
    );
    const box = h('div', {});
    view.append(box, h('p', {}, h('a', { href: '#/recent' }, 'All recent transfers, with filters')));
    poll(gen, () => getJSON('explorer/recent?limit=5'), (d) => box.replaceChildren(transfersTable(d.transfers, 'The five newest transfers')), { base: 3000, max: 15000 });
  }

  function showSearch(gen, q) {
    input.value = q;
    const title = heading('Search');
    const status = h('div', { id: 'search-result', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Searching…'));
    view.append(title, h('p', {}, 'For ', h('code', { class: 'mono' }, q)), status);
    poll(gen, () => getJSON(`explorer/search?q=${encodeURIComponent(q)}`), (d) => {
      const only = (d.messages || []).length === 1 ? d.messages[0] : null;
      if ((d.status === 'found' && only && d.kind !== 'address') || (d.status === 'pending' && only)) {
        // One transfer: go to its page (replacing the search in the history).
        let target = `#/transfer/${only.messageHash}`;
        if (d.status === 'pending' && d.sourceTx) target += `?source=${d.sourceDomain}&tx=${encodeURIComponent(d.sourceTx.hash)}`;
        location.replace(target);
        return;
      }
      status.replaceChildren(searchAnswer(d));
    }, { base: 1500, max: 10000, more: (d) => d.status === 'pending' });
  }

  function searchAnswer(d) {
    switch (d.status) {
      case 'found':
        return h('div', {},
          notice('ok', d.kind === 'address' ? `Transfers from or to ${d.address}` : 'Found', h('p', {}, `${d.messages.length} transfer${d.messages.length === 1 ? '' : 's'}${d.limit && d.messages.length >= d.limit ? ` (the newest ${d.limit})` : ''}.`)),
          transfersTable(d.messages, 'Matching transfers'));
      case 'pending':
        return h('div', {}, notice('warn', 'Not final yet', h('p', {}, d.note), d.sourceTx ? h('p', {}, 'Transaction ', txLink(d.sourceTx)) : null),
          (d.messages || []).length ? h('ul', {}, d.messages.map((m) => h('li', {}, transferLink(m.messageHash)))) : null,
          h('p', { class: 'muted' }, 'This page checks again by itself.'));
      case 'not_bridge':
        return notice('bad', 'Not a bridge transfer', h('p', {}, d.note), d.sourceTx ? h('p', {}, 'Transaction ', txLink(d.sourceTx)) : null);
      case 'invalid':
        return notice('bad', 'Not a hash or an address', h('p', {}, d.note));
      default:
        return notice('bad', 'Not found', h('p', {}, d.note || 'Nothing is known about this.'));
    }
  }

  // ---- transfers table ----------------------------------------------------------------

  function transfersTable(list, caption) {
    if (!list || !list.length) return h('p', { class: 'muted' }, 'No transfers.');
    const rows = list.map((t) => h('tr', {},
      h('td', { 'data-label': 'Time' }, time(t.observedAtMs || t.burnedAtMs)),
      h('td', { 'data-label': 'Route' }, `${t.sourceChain} → ${t.destinationChain}`),
      h('td', { 'data-label': 'Amount', class: 'num' }, usd1(t.amount)),
      h('td', { 'data-label': 'State' }, stateText(t.status)),
      h('td', { 'data-label': 'Transfer' }, transferLink(t.messageHash, `${t.messageHash.slice(0, 10)}…${t.messageHash.slice(-6)}`),
        h('span', { class: 'visually-hidden' }, ` from ${t.sender || 'unknown'} to ${t.recipient || 'unknown'}`)),
    ));
    return h('div', { class: 'table-wrap' }, h('table', { class: 'stack' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ['Time', 'Route', 'Amount', 'State', 'Transfer'].map((c) => h('th', { scope: 'col', class: c === 'Amount' ? 'num' : null }, c)))),
      h('tbody', {}, rows)));
  }

  // ---- the transfer page --------------------------------------------------------------

  function showTransfer(gen, hash, params) {
    const query = new URLSearchParams();
    if (params.get('source')) query.set('source', params.get('source'));
    if (params.get('tx')) query.set('tx', params.get('tx'));
    const qs = query.toString() ? `?${query}` : '';
    const title = heading('Transfer');
    const live = h('p', { id: 'live', role: 'status', 'aria-live': 'polite', class: 'muted' }, 'Loading…');
    const summary = h('section', { 'aria-labelledby': 'facts-h' });
    const progress = h('section', { 'aria-labelledby': 'timeline-h' });
    const proof = h('section', { 'aria-labelledby': 'proof-h', id: 'proof' });
    const extra = h('div', {});
    view.append(title, live, summary, progress, proof, extra);
    focusTitle();
    let lastPhase = null;
    let proofFor = null;
    poll(gen, () => getJSON(`explorer/transfers/${hash}${qs}`), (d) => {
      if (d.status === 'not_found') {
        live.textContent = 'Not found.';
        summary.replaceChildren(notice('bad', 'Not found', h('p', {}, d.note)));
        return;
      }
      const t = d.transfer;
      title.textContent = t.amount ? `Transfer of ${usd1(t.amount)}` : 'Transfer';
      summary.replaceChildren(transferFacts(t));
      progress.replaceChildren(timeline(t));
      extra.replaceChildren(...transferExtras(t));
      const stage = t.stages.find((s) => s.id === t.phase);
      const words = t.outcome ? `${t.outcome.kind}: ${t.outcome.reason}` : (stage ? `${stage.label}.` : 'Waiting.');
      if (t.phase !== lastPhase || t.outcome) live.textContent = `Status: ${words} Updated ${utc(Date.now())}.`;
      lastPhase = t.phase;
      // The exactly-once proof, once the destination should have an answer.
      const minted = t.stages.some((s) => s.id === 'minted' && s.status === 'done');
      if (d.status === 'found' && minted && proofFor !== t.phase) {
        proofFor = t.phase;
        showProof(gen, hash, proof);
      }
    }, {
      base: 1000, max: 6000,
      more: (d) => d.status !== 'not_found' && !(d.transfer && d.transfer.terminal),
      onError: (e) => { live.textContent = `Could not reach the relayer (${e.message}); retrying.`; },
    });
  }

  function transferFacts(t) {
    const rows = [
      ['Amount', t.amount ? usd1(t.amount) : null],
      ['State', stateText(t.state)],
      ['Route', t.sourceChain && t.destinationChain ? `${t.sourceChain} → ${t.destinationChain}` : null],
      ['From', t.sender ? h('code', { class: 'mono' }, t.sender) : null],
      ['To', t.recipient ? h('code', { class: 'mono' }, t.recipient) : null],
      ['Source transaction', txLink(t.sourceTx)],
      ['Message hash', h('code', { class: 'mono' }, t.messageHash)],
      ['Nonce', t.nonce !== null && t.nonce !== undefined ? String(t.nonce) : null],
    ].filter(([, v]) => v !== null && v !== undefined);
    return h('div', {},
      h('h2', { id: 'facts-h', class: 'visually-hidden' }, 'Summary'),
      h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  }

  function timeline(t) {
    const items = t.stages.map((s) => {
      const [mark, word] = STATUS[s.status] || ['?', s.status];
      const eta = s.status === 'active' && typeof s.etaSeconds === 'number' ? `about ${Math.max(1, Math.round(s.etaSeconds))} s left` : null;
      return h('li', { class: `stage s-${s.status}`, 'data-stage': s.id, 'data-status': s.status },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, mark),
        h('div', {},
          h('h3', {}, s.label, ' ', h('span', { class: 'badge' }, word)),
          s.detail ? h('p', {}, s.detail) : null,
          eta ? h('p', { class: 'eta' }, eta) : null,
          (s.txs || []).length ? h('ul', { class: 'txs' }, s.txs.map((tx) => h('li', {}, tx.filler ? 'nonce filler ' : null, txLink(tx)))) : null,
          s.atMs ? h('p', { class: 'muted' }, time(s.atMs)) : null));
    });
    return h('div', {},
      h('h2', { id: 'timeline-h' }, 'Progress'),
      h('ol', { class: 'timeline', id: 'timeline', 'data-phase': t.phase || 'none' }, items));
  }

  function transferExtras(t) {
    const out = [];
    if (t.outcome) out.push(notice('bad', t.outcome.kind === 'skipped' ? 'Skipped by this relayer' : 'Failed', h('p', {}, t.outcome.reason)));
    if (t.lastError && !t.terminal) out.push(notice('warn', 'Last error (retrying)', h('p', {}, t.lastError)));
    if ((t.replacements || []).length) {
      out.push(h('section', { 'aria-labelledby': 'repl-h' },
        h('h2', { id: 'repl-h' }, 'Replaced burns'),
        h('p', {}, 'These messages share this burn\'s source and nonce (replaceDepositForBurn): at most one of them can ever be minted.'),
        h('ul', {}, t.replacements.map((r) => h('li', {}, transferLink(r.messageHash), ` — ${usd1(r.amount)} to `, h('code', { class: 'mono' }, r.recipient || '?'), `, ${stateText(r.status)}`)))));
    }
    if ((t.history || []).length) {
      out.push(h('details', {}, h('summary', {}, 'Relayer history'),
        h('ol', {}, t.history.map((e) => h('li', {}, `${utc(e.at_ms)} — ${e.state}`, e.tx_hash ? [' ', h('code', { class: 'mono' }, e.tx_hash)] : null, e.detail ? ` — ${e.detail}` : null)))));
    }
    return out;
  }

  async function showProof(gen, hash, box) {
    let p;
    try { p = await getJSON(`explorer/proof/${hash}`); } catch (e) { return; }
    if (gen !== generation) return;
    const title = h('h2', { id: 'proof-h' }, 'Proof of exactly-once');
    if (p.kind === 'evm') {
      const yes = p.answer !== null && p.answer !== '0';
      box.replaceChildren(title,
        h('p', {}, `${p.chain}'s MessageTransmitter `, h('code', { class: 'mono' }, p.contract), ' answers ',
          h('code', { class: 'mono', id: 'proof-answer' }, `${p.call} = ${p.answer === null ? 'no answer' : p.answer}`),
          yes ? ' — received: this (source domain, nonce) can never be minted again.' : ' — not received yet.'),
        h('p', { class: 'muted' }, `Key: ${p.keyOf}. ${p.note}`));
    } else if (p.kind === 'solana') {
      box.replaceChildren(title,
        h('p', {}, `${p.chain}, read at ${p.commitment} commitment:`),
        h('ul', {}, p.claims.map((c) => h('li', {},
          `${c.current ? 'Claim account' : 'Claim account under a retired authority'} `,
          c.explorerUrl ? h('a', { href: c.explorerUrl, rel: 'noreferrer noopener', target: '_blank' }, h('code', { class: 'mono' }, c.address)) : h('code', { class: 'mono' }, c.address),
          ' — owner ', h('code', { class: 'mono', id: c.current ? 'proof-answer' : null }, c.owner || (c.answered ? 'none (no such account)' : 'no answer')),
          c.ownedByMemo ? ' (the Memo program: claimed)' : ''))),
        h('p', { class: 'muted' }, p.note));
    } else {
      box.replaceChildren(title, h('p', { class: 'muted' }, p.note || 'No proof available.'));
    }
  }

  // ---- recent -------------------------------------------------------------------------

  async function showRecent(gen, params) {
    view.append(heading('Recent transfers'));
    focusTitle();
    let cfg;
    try { cfg = await loadConfig(); } catch (e) { view.append(notice('bad', 'Could not reach the relayer', h('p', {}, e.message))); return; }
    if (gen !== generation) return;
    const routeSel = h('select', { id: 'f-route', name: 'route' }, h('option', { value: '' }, 'All routes'));
    for (const a of cfg.chains) {
      for (const b of cfg.chains) {
        if (a.domain === b.domain) continue;
        routeSel.append(h('option', { value: `${a.domain}-${b.domain}` }, `${a.name} → ${b.name}`));
      }
    }
    const stateSel = h('select', { id: 'f-state', name: 'state' }, h('option', { value: '' }, 'All states'), cfg.states.map((s) => h('option', { value: s }, `${s} (${stateText(s)})`)));
    const route = params.get('source') !== null && params.get('destination') !== null ? `${params.get('source')}-${params.get('destination')}` : '';
    routeSel.value = route;
    stateSel.value = params.get('state') || '';
    const filters = h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      if (routeSel.value) { const [s, d] = routeSel.value.split('-'); q.set('source', s); q.set('destination', d); }
      if (stateSel.value) q.set('state', stateSel.value);
      location.hash = `#/recent${q.toString() ? `?${q}` : ''}`;
    } },
      h('div', {}, h('label', { for: 'f-route' }, 'Route'), routeSel),
      h('div', {}, h('label', { for: 'f-state' }, 'State'), stateSel),
      h('button', { type: 'submit' }, 'Apply'));
    const box = h('div', { 'aria-live': 'polite' });
    const pager = h('div', { class: 'pager' });
    view.append(filters, box, pager);
    const q = new URLSearchParams();
    for (const k of ['source', 'destination', 'state', 'before']) if (params.get(k)) q.set(k, params.get(k));
    q.set('limit', '20');
    const first = !params.get('before');
    poll(gen, () => getJSON(`explorer/recent?${q}`), (d) => {
      box.replaceChildren(transfersTable(d.transfers, first ? 'Newest first' : 'Older transfers, newest first'));
      pager.replaceChildren();
      if (!first) {
        const nq = new URLSearchParams(q); nq.delete('before'); nq.delete('limit');
        pager.append(h('a', { href: `#/recent${nq.toString() ? `?${nq}` : ''}` }, '← Newest'));
      }
      if (d.next) {
        const nq = new URLSearchParams(q); nq.set('before', d.next); nq.delete('limit');
        pager.append(h('a', { href: `#/recent?${nq}` }, 'Older →'));
      }
    }, { base: 3000, max: 20000, more: () => first });
  }

  // ---- supply -------------------------------------------------------------------------

  function showSupply(gen) {
    view.append(heading('Supply'),
      h('p', {}, 'Every chain\'s USD1 supply, read at one pinned height each, plus what is burned and not minted yet (in flight), must add up to what the issuer issued.'));
    focusTitle();
    const box = h('div', { 'aria-live': 'polite' });
    const gov = h('div', {});
    view.append(box, gov);
    poll(gen, () => getJSON('supply'), (s) => box.replaceChildren(...supplyView(s)), { base: 3000, max: 20000 });
    poll(gen, () => getJSON('explorer/governor'), (g) => gov.replaceChildren(...governorView(g)), { base: 10000, max: 60000 });
  }

  function supplyView(s) {
    if (!s.available) return [notice('warn', 'No audit yet', h('p', {}, s.note))];
    const rows = s.chains.map((c) => h('tr', {},
      h('th', { scope: 'row', 'data-label': 'Chain' }, c.chain),
      h('td', { 'data-label': 'Supply', class: 'num' }, usd1(c.supply)),
      h('td', { 'data-label': 'In flight from it', class: 'num' }, usd1(c.inFlightFrom)),
      h('td', { 'data-label': 'Read at' }, c.height)));
    const balanced = s.balanced;
    const disc = s.discrepancy === null
      ? h('p', {}, 'Discrepancy: not computed (the relayer has no issued total configured).')
      : h('p', { id: 'discrepancy' }, 'Discrepancy: ',
        h('span', { class: balanced ? 'green' : 'red' }, balanced ? `✓ ${s.discrepancy} USD1 — supply adds up` : `✕ ${s.discrepancy} USD1 — supply does NOT add up`));
    const out = [
      h('p', { class: 'muted' }, 'Audited ', time(s.atMs), '.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'stack' }, h('caption', {}, 'Per chain'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Chain'), h('th', { scope: 'col', class: 'num' }, 'Supply'), h('th', { scope: 'col', class: 'num' }, 'In flight from it'), h('th', { scope: 'col' }, 'Read at'))),
        h('tbody', {}, rows))),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Σ supply'), h('dd', {}, usd1(s.totalSupply)),
        h('dt', {}, 'In flight'), h('dd', {}, `${usd1(s.inFlight)} (${s.inFlightCount} burn${s.inFlightCount === 1 ? '' : 's'})`),
        s.toUnknownDomains !== '0' ? [h('dt', {}, 'Burned toward unknown domains'), h('dd', {}, usd1(s.toUnknownDomains))] : null,
        s.outsideBridge.map((o) => [h('dt', {}, `Burned outside the bridge on ${o.chain}`), h('dd', {}, `${usd1(o.amount)} (${o.count})`)]),
        h('dt', {}, 'Accounted for'), h('dd', {}, usd1(s.accounted)),
        h('dt', {}, 'Issued'), h('dd', {}, s.issued === null ? 'not configured' : usd1(s.issued))),
      disc,
    ];
    if (s.routes.length) {
      out.push(h('div', { class: 'table-wrap' }, h('table', { class: 'stack' }, h('caption', {}, 'Burns per route'),
        h('thead', {}, h('tr', {}, ['Route', 'Burns', 'In flight'].map((c) => h('th', { scope: 'col', class: c === 'Route' ? null : 'num' }, c)))),
        h('tbody', {}, s.routes.map((r) => h('tr', {},
          h('td', { 'data-label': 'Route' }, `${r.source} → ${r.destination}`),
          h('td', { 'data-label': 'Burns', class: 'num' }, String(r.burns)),
          h('td', { 'data-label': 'In flight', class: 'num' }, `${usd1(r.inFlight)} (${r.inFlightCount})`)))))));
    }
    return out;
  }

  // The attesters' governors, shown only when they have one (GET /v1/governor).
  function governorView(g) {
    if (!g.available) return [];
    return [
      h('h2', {}, 'Governor windows'),
      h('p', { class: 'muted' }, 'Each attester limits what it signs per source chain in a rolling window; a burn past the limit, or a big one, is held until there is room or its delay has passed.'),
      ...g.attesters.map((a) => h('section', {}, h('h3', {}, a.attester),
        a.governor && Array.isArray(a.governor.chains) ? governorTable(a.governor) : jsonView(a.governor))),
    ];
  }

  function governorTable(gv) {
    const span = (s) => (typeof s === 'number' && s % 3600 === 0 ? `${s / 3600} h` : `${s} s`);
    const rows = gv.chains.map((c) => h('tr', {},
      h('td', { 'data-label': 'Source chain' }, c.chain),
      h('td', { 'data-label': 'Used in window', class: 'num' }, `${usd1(c.windowUsed)} of ${usd1(c.dailyLimit)} (${span(c.windowSecs)})`),
      h('td', { 'data-label': 'Room left', class: 'num' }, usd1(c.windowRemaining)),
      h('td', { 'data-label': 'Held', class: 'num' }, `${c.held} (${usd1(c.heldValue)})`),
      h('td', { 'data-label': 'Big transfers', class: 'num' }, `from ${usd1(c.bigTransfer)}, held ${span(c.bigTransferDelaySecs)}`)));
    return h('div', {},
      h('div', { class: 'table-wrap' }, h('table', { class: 'stack' },
        h('thead', {}, h('tr', {}, ['Source chain', 'Used in window', 'Room left', 'Held', 'Big transfers'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
        h('tbody', {}, rows))),
      (gv.held || []).length ? [h('h4', {}, 'Held messages'), jsonView(gv.held)] : h('p', {}, 'Nothing held.'));
  }

  // Generic rendering of a JSON answer: arrays of objects as tables, objects as lists.
  function jsonView(v) {
    if (Array.isArray(v)) {
      if (v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
        const cols = [...new Set(v.flatMap((x) => Object.keys(x)))];
        return h('div', { class: 'table-wrap' }, h('table', { class: 'stack' },
          h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, v.map((x) => h('tr', {}, cols.map((c) => h('td', { 'data-label': c }, scalar(x[c]))))))));
      }
      return h('p', {}, v.map(scalar).join(', '));
    }
    if (v && typeof v === 'object') {
      return h('dl', { class: 'facts' }, Object.entries(v).map(([k, x]) => [h('dt', {}, k), h('dd', {}, x && typeof x === 'object' ? jsonView(x) : scalar(x))]));
    }
    return h('p', {}, scalar(v));
  }

  function scalar(x) {
    if (x === null || x === undefined) return '—';
    if (typeof x === 'object') return JSON.stringify(x);
    return String(x);
  }

  route();
})();
