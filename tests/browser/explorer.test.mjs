// The transfer explorer in a real browser: Debian's Chromium driven by playwright-core, against
// a running devnet. Started by tests/tests/explorer.rs (cargo nextest) BEFORE it burns, so the
// pages watch each transfer from the burn on; it writes the burns to $EXPLORER_INPUT.
//
//   EXPLORER_URL          the relayer's explorer, e.g. http://127.0.0.1:8745/explorer/
//   EXPLORER_READY        file this writes once its pages are open (then the burns start)
//   EXPLORER_INPUT        JSON file: { evm: {tx, message}, solana: {tx, message}, unknown }
//   EXPLORER_SCREENSHOTS  directory for screenshots (a temp dir in the tests)
//   EXPLORER_DOCS_SCREENSHOT  optional: also write the EVM transfer page there (docs/explorer.png)
//   CHROMIUM              optional: the browser (default /usr/bin/chromium)
//
// Run: node --test tests/browser/explorer.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const EXPLORER = process.env.EXPLORER_URL;
const INPUT = process.env.EXPLORER_INPUT;
const READY = process.env.EXPLORER_READY;
const SHOTS = process.env.EXPLORER_SCREENSHOTS;
const DOCS_SHOT = process.env.EXPLORER_DOCS_SCREENSHOT;
// Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
const FLAGS = [
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
const TRANSFER_TIMEOUT = 240_000;

let browser;
let input;
const pages = {};
const origin = EXPLORER ? new URL(EXPLORER).origin : '';
// Console errors, page errors and requests to anywhere but the relayer, from every page.
const problems = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForInput() {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      return JSON.parse(await readFile(INPUT, 'utf8'));
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`no input at ${INPUT}: ${e.message}`);
      await sleep(100);
    }
  }
}

async function openPage(name, viewport = { width: 1000, height: 900 }) {
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
    problems.push(`${name}: request to ${url} (nothing may load from elsewhere)`);
    return route.abort();
  });
  return page;
}

// A page on the explorer's home page, opened before the burns (a browser's first page takes
// seconds to load on a busy machine; the devnet's transfers take seconds too). From its first
// paint on it records every phase the timeline shows, and how often the page was loaded.
async function homePage(name) {
  const page = await openPage(name);
  await page.addInitScript(() => {
    window.explorerTestPhases = [];
    window.explorerTestWaits = [];
    window.explorerTestLoads = (Number(sessionStorage.getItem('explorerTestLoads')) || 0) + 1;
    sessionStorage.setItem('explorerTestLoads', String(window.explorerTestLoads));
    const record = () => {
      const t = document.getElementById('timeline');
      const p = t && t.dataset.phase;
      const seen = window.explorerTestPhases;
      if (p && seen[seen.length - 1] !== p) seen.push(p);
      // What the page said while the burn was not final yet.
      const f = document.querySelector('[data-stage="source-final"][data-status="active"]');
      const waits = window.explorerTestWaits;
      if (f && waits[waits.length - 1] !== f.innerText) waits.push(f.innerText);
    };
    document.addEventListener('DOMContentLoaded', () => {
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  });
  await page.goto(EXPLORER);
  await page.locator('#view h1').waitFor();
  return page;
}

// Searches for the transfer's source transaction with the keyboard, then follows the timeline
// until the mint is final, without a reload.
async function follow(name, page, transfer) {
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  await page.getByLabel('Find a transfer by transaction hash, message hash or address').fill(transfer.tx);
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/transfer\//, { timeout: 60_000 });
  console.log(`${name}: search answered after ${since()}`);
  const timeline = page.locator('#timeline');
  await timeline.waitFor({ timeout: 60_000 });
  console.log(`${name}: timeline shown after ${since()}`);
  assert.match(page.url(), new RegExp(`#/transfer/${transfer.message}`), 'the search led to the transfer page');
  await page.locator('[data-stage="minted"][data-status="done"]').waitFor({ timeout: TRANSFER_TIMEOUT });
  await page.locator('[data-stage="final"][data-status="done"]').waitFor({ timeout: TRANSFER_TIMEOUT });
  const phases = await page.evaluate(() => window.explorerTestPhases);
  const loads = await page.evaluate(() => window.explorerTestLoads);
  const waits = await page.evaluate(() => window.explorerTestWaits);
  console.log(`${name}: while not final: ${waits.map((w) => w.replace(/\s+/g, ' ')).join(' | ')}`);
  assert.ok(
    waits.some((w) => /\d of 4 confirmations/.test(w) && /about \d+ s left/.test(w)),
    `the page showed the confirmations and the time left: ${waits}`,
  );
  console.log(`${name}: final after ${since()}; phases seen: ${phases.join(' → ')}`);
  assert.equal(loads, 1, 'the page was loaded once: no reload');
  assert.ok(!['minted', 'final'].includes(phases[0]), `watching began before the mint (first: ${phases[0]})`);
  const minted = phases.indexOf('minted');
  const final = phases.indexOf('final');
  assert.ok(final > 0, `reached final: ${phases}`);
  assert.ok(minted !== -1 && minted < final, `minted, then final: ${phases}`);
  // Every stage done, in words (not only colour).
  for (const id of ['burned', 'source-final', 'attested', 'submitted', 'minted', 'final']) {
    const stage = page.locator(`[data-stage="${id}"]`);
    assert.equal(await stage.getAttribute('data-status'), 'done', id);
    assert.match(await stage.locator('.badge').innerText(), /done/);
  }
  assert.match(await page.locator('[data-stage="attested"]').innerText(), /2 of 3 attesters/);
  return page;
}

describe('the transfer explorer in Chromium', () => {
  before(async () => {
    assert.ok(EXPLORER && INPUT && READY && SHOTS, 'EXPLORER_URL, EXPLORER_INPUT, EXPLORER_READY and EXPLORER_SCREENSHOTS are set');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: FLAGS,
      headless: true,
    });
    pages.evm = await homePage('evm');
    pages.solana = await homePage('solana');
    // The Rust side burns once the pages are open.
    await writeFile(READY, 'ready');
    input = await waitForInput();
  });

  after(async () => {
    if (browser) await browser.close();
  });

  test('transfers are followed live from the source transaction to a final mint', { concurrency: true }, async (t) => {
    await Promise.all([
      t.test('ethereum → base: burned → final → attested → minted → final', async () => {
        const page = await follow('evm', pages.evm, input.evm);
        const proof = page.locator('#proof-answer');
        await proof.waitFor({ timeout: 30_000 });
        assert.match(await proof.innerText(), /^usedNonces\(0x[0-9a-f]{64}\) = 1$/);
        const shot = { path: join(SHOTS, 'explorer-evm.png'), fullPage: true };
        await page.screenshot(shot);
        if (DOCS_SHOT) await page.screenshot({ ...shot, path: DOCS_SHOT });
      }),
      t.test('ethereum → solana: the same, and the claim account as proof', async () => {
        const page = await follow('solana', pages.solana, input.solana);
        const proof = page.locator('#proof-answer');
        await proof.waitFor({ timeout: 30_000 });
        assert.equal(await proof.innerText(), 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr', 'the claim account belongs to the Memo program');
        await page.screenshot({ path: join(SHOTS, 'explorer-solana.png'), fullPage: true });
      }),
    ]);
  });

  test('an unknown hash shows "not found"', async () => {
    const page = await openPage('unknown');
    await page.goto(EXPLORER);
    await page.getByLabel('Find a transfer by transaction hash, message hash or address').fill(input.unknown);
    await page.getByRole('button', { name: 'Search' }).click();
    const answer = page.locator('#search-result h2');
    await answer.waitFor({ timeout: 30_000 });
    assert.equal(await answer.innerText(), 'Not found');
    assert.match(await page.locator('#search-result').innerText(), /no transfer, transaction or message with this hash/);
  });

  test('recent transfers and supply', async () => {
    const page = await openPage('lists');
    await page.goto(`${EXPLORER}#/recent`);
    const rows = page.locator('table tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    const text = await page.locator('table').innerText();
    assert.ok(text.includes('ethereum → base') && text.includes('ethereum → solana'), text);
    // Filter by route: only ethereum → solana.
    await page.getByLabel('Route').selectOption({ label: 'ethereum → solana' });
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/source=0&destination=5/);
    await page.waitForFunction(() => {
      const t = document.querySelector('table');
      return t && !t.innerText.includes('ethereum → base');
    });
    await page.goto(`${EXPLORER}#/supply`);
    const discrepancy = page.locator('#discrepancy');
    await discrepancy.waitFor({ timeout: 30_000 });
    assert.match(await discrepancy.innerText(), /Discrepancy: ✓ 0 USD1 — supply adds up/);
    const supply = await page.locator('table').first().innerText();
    for (const chain of ['ethereum', 'base', 'solana']) assert.ok(supply.includes(chain), supply);
    // The attesters' governor windows, where they have a governor.
    const governor = await (await page.request.get(new URL('../v1/explorer/governor', EXPLORER).href)).json();
    if (governor.available) await page.getByRole('heading', { name: 'Governor windows' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'explorer-supply.png'), fullPage: true });
  });

  test('phone width and keyboard', async () => {
    const page = await openPage('phone', { width: 360, height: 740 });
    await page.goto(`${EXPLORER}#/transfer/${input.evm.message}`);
    await page.locator('[data-stage="final"][data-status="done"]').waitFor({ timeout: 30_000 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no horizontal scrolling at 360 px (content is ${width} px wide)`);
    await page.screenshot({ path: join(SHOTS, 'explorer-phone.png'), fullPage: true });
    // The first Tab reaches the skip link, then the navigation and the search box.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    let reached = false;
    for (let i = 0; i < 8 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement.id === 'q');
    }
    assert.ok(reached, 'the search box is reachable with Tab');
  });

  test('no console errors, no page errors, nothing loaded from elsewhere', () => {
    assert.deepEqual(problems, []);
  });
});
