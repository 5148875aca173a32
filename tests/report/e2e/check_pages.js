#!/usr/bin/env node
// End-to-end check of greentrain report pages in real headless Chromium, driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe: no port, no npm package). For each page
// given (or written by a fixture program): load it from a file:// URL in a fresh profile, wait
// until the page says every chart has settled, then require: no console error or uncaught
// exception, no network request besides the page itself, every chart element rendered an SVG
// with marks; and the layout at 1400 px: charts drawn at the card's width ("container" specs fill
// at least 90 % of it, none overflows it), no table needs horizontal scrolling, no legend or axis
// label is truncated ("…"), axes read in plain units (no "20m" or "1.2k" ticks), positive
// quantities' axes never go below zero, and the Pareto marker is explained in its caption. A
// full-page screenshot is saved next to the page. Then every page at 400 px (a phone) and at
// 1400 px: nothing reaches past the page's edge (only a box that must may scroll sideways, and
// none at 1400 px), no box cuts its content off (a screenshot or a PDF would lose it), and a
// full-page screenshot PAGE-400.png / PAGE-1400.png. The first page is loaded again with
// scripts disabled: its tables must still be there. Exit 0 = pass, 1 = fail (a missing browser
// too).
//
// Usage: check_pages.js [--fixture PROGRAM] OUT_DIR [PAGE.html ...]
'use strict';
const {spawn, spawnSync} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {pathToFileURL} = require('url');

const argv = process.argv.slice(2);
let fixture = null;
if (argv[0] === '--fixture') { fixture = argv[1]; argv.splice(0, 2); }
const outDir = argv.shift();
if (!outDir) { console.error('usage: check_pages.js [--fixture PROGRAM] OUT_DIR [PAGE.html ...]'); process.exit(2); }
fs.mkdirSync(outDir, {recursive: true});
let pages = argv.map((p) => path.resolve(p));
if (fixture) {
  const r = spawnSync(fixture, [outDir], {encoding: 'utf8'});
  if (r.status !== 0) { console.error(`fixture failed: ${r.stderr}`); process.exit(1); }
  pages = pages.concat(r.stdout.trim().split('\n').filter(Boolean).map((p) => path.resolve(p)));
}
const chromium = process.env.GREENTRAIN_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  console.error(`FAIL: no browser at ${chromium}: apt install chromium (or set GREENTRAIN_CHROMIUM)`);
  process.exit(1);
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-report-chromium-'));
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--mute-audio', `--user-data-dir=${profile}`,
  '--remote-debugging-pipe', 'about:blank'], {stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe']});
let browserLog = '';
browser.stdio[2].on('data', (d) => { browserLog += d; });
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];

let nextId = 1;
const pending = new Map();
const listeners = [];
let buffer = '';
fromBrowser.on('data', (chunk) => {
  buffer += chunk.toString('utf8');
  let end;
  while ((end = buffer.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const {resolve, reject, method} = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`)); else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = {id, method, params};
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => pending.set(id, {resolve, reject, method}));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const watchdog = setTimeout(() => { console.error('FAIL: timed out after 220 s'); finish(1); }, 220000);
function finish(code) {
  clearTimeout(watchdog);
  try { browser.kill('SIGKILL'); } catch (e) { /* already gone */ }
  try { fs.rmSync(profile, {recursive: true, force: true}); } catch (e) { /* best effort */ }
  process.exit(code);
}

async function openTab(width = 1400) {
  const {targetId} = await send('Target.createTarget', {url: 'about:blank'});
  const {sessionId} = await send('Target.attachToTarget', {targetId, flatten: true});
  for (const d of ['Page.enable', 'Runtime.enable', 'Log.enable', 'Network.enable', 'DOM.enable'])
    await send(d, {}, sessionId);
  await send('Emulation.setDeviceMetricsOverride', {width, height: 1000, deviceScaleFactor: 1, mobile: width < 600}, sessionId);
  return {targetId, sessionId};
}

// The layout at one width: elements reaching past the page's right edge (anything inside a box
// that scrolls sideways is fine: it scrolls there, not off the page), boxes that cut content
// off (a scroll box or hidden overflow whose content is taller than the box: a screenshot or a
// printout loses rows), and the boxes that scroll sideways.
const layout = `(() => {
  const width = document.documentElement.clientWidth;
  const scrollsX = (el) => { const o = getComputedStyle(el).overflowX; return o === 'auto' || o === 'scroll'; };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    ' in #' + (((el.closest('figure') || el.closest('section') || {}).id) || '?');
  const beyond = [], clipped = [], sideways = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    let inside = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (scrollsX(a)) { inside = true; break; }
    if (!inside && r.right > width + 1) beyond.push(name(el) + ' (' + Math.round(r.right) + ' > ' + width + ' px)');
    const s = getComputedStyle(el);
    if ((s.overflowY === 'auto' || s.overflowY === 'scroll' || s.overflowY === 'hidden') &&
        el.scrollHeight > el.clientHeight + 1 && el.tagName !== 'HTML' && el.tagName !== 'BODY')
      clipped.push(name(el) + ' (' + el.scrollHeight + ' px of content in ' + el.clientHeight + ')');
    if (scrollsX(el) && el.scrollWidth > el.clientWidth + 1) sideways.push(name(el));
  }
  return {width, pageWidth: document.documentElement.scrollWidth, beyond: beyond.slice(0, 8),
          clipped: clipped.slice(0, 8), sideways,
          height: Math.ceil(document.documentElement.scrollHeight)};
})()`;

// Loads `page` at `width`, waits for the charts, checks the layout and saves a full-page
// screenshot PAGE-WIDTH.png. Returns the problems found.
async function checkWidth(page, width) {
  const problems = [];
  const {targetId, sessionId} = await openTab(width);
  await load(sessionId, pathToFileURL(page).href);
  const started = Date.now();
  while ((await evaluate(sessionId, "document.documentElement.getAttribute('data-charts')")) !== 'done' &&
         Date.now() - started < 60000)
    await sleep(100);
  const l = await evaluate(sessionId, layout);
  if (l.pageWidth > l.width + 1) problems.push(`at ${width} px the page is ${l.pageWidth} px wide`);
  for (const b of l.beyond) problems.push(`at ${width} px an element reaches past the page: ${b}`);
  for (const c of l.clipped) problems.push(`at ${width} px a box cuts off its content: ${c}`);
  if (width >= 1400) for (const x of l.sideways) problems.push(`at ${width} px a box scrolls sideways: ${x}`);
  const height = Math.min(l.height, 30000);
  await send('Emulation.setDeviceMetricsOverride', {width, height, deviceScaleFactor: 1, mobile: width < 600}, sessionId);
  await sleep(300);  // charts sized to their container follow the new viewport
  const shot = await send('Page.captureScreenshot', {format: 'png', captureBeyondViewport: true,
    clip: {x: 0, y: 0, width, height, scale: 1}}, sessionId);
  const png = page.replace(/\.html$/, '') + `-${width}.png`;
  fs.writeFileSync(png, Buffer.from(shot.data, 'base64'));
  await send('Target.closeTarget', {targetId});
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${path.basename(page)} at ${width} px: ` +
              `${l.sideways.length} box(es) scroll sideways; screenshot ${png}`);
  for (const p of problems) console.log(`     ${p}`);
  return problems;
}

async function load(sessionId, url) {
  const loaded = new Promise((resolve) => listeners.push(function on(msg) {
    if (msg.sessionId === sessionId && msg.method === 'Page.loadEventFired') {
      listeners.splice(listeners.indexOf(on), 1);
      resolve();
    }
  }));
  const nav = await send('Page.navigate', {url}, sessionId);
  if (nav.errorText) throw new Error(`navigation failed: ${nav.errorText}`);
  await loaded;
}

async function evaluate(sessionId, expression) {
  const r = await send('Runtime.evaluate', {expression, returnByValue: true, awaitPromise: true}, sessionId);
  if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
  return r.result.value;
}

const inspect = `(() => {
  const specs = {};
  try { JSON.parse(document.getElementById('gt-charts').textContent).forEach((c) => { specs[c.id] = c.spec; }); } catch (e) {}
  const charts = [...document.querySelectorAll('.vis[id^=chart-]')].map((el) => {
    const svg = el.querySelector('svg');
    const marks = svg ? [...svg.querySelectorAll('g.role-mark')].reduce((n, g) => n + g.childElementCount, 0) : 0;
    const texts = svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent) : [];
    const ticks = svg ? [...svg.querySelectorAll('.role-axis-label text')].map((t) => t.textContent) : [];
    const id = el.id.replace(/^chart-/, '');
    return {id: el.id, rendered: el.getAttribute('data-rendered'), svg: !!svg, marks,
            width: svg ? svg.getBoundingClientRect().width : 0, card: el.clientWidth,
            container: !!specs[id] && specs[id].width === 'container',
            truncated: texts.filter((t) => t.includes('\u2026')),
            siTicks: ticks.filter((t) => /^[\u2212-]?[0-9.,]+ ?[munµkMGT]$/.test(t)),
            negativeTicks: /^(train_energy|energy|duration|avg_power|carbon)$/.test(id)
              ? ticks.filter((t) => /^[\u2212-][0-9]/.test(t)) : []};
  });
  const wideTables = [...document.querySelectorAll('.table-wrap')]
    .filter((t) => t.scrollWidth > t.clientWidth + 1)
    .map((t) => ((t.closest('figure') || t.closest('section') || {}).id || '?') + ' (' + t.scrollWidth + ' > ' + t.clientWidth + ' px)');
  const pareto = document.querySelector('#fig-pareto figcaption');
  return {state: document.documentElement.getAttribute('data-charts'),
          failed: document.documentElement.getAttribute('data-charts-failed'),
          tables: document.querySelectorAll('table').length,
          sections: [...document.querySelectorAll('section[id]')].map((s) => s.id),
          height: Math.ceil(document.documentElement.scrollHeight), charts, wideTables,
          paretoExplained: pareto ? /Pareto front/.test(pareto.textContent) && /diamond/.test(pareto.textContent) : null};
})()`;

async function checkPage(page) {
  const problems = [];
  const url = pathToFileURL(page).href;
  const {targetId, sessionId} = await openTab();
  const consoleErrors = [], warnings = [], requests = [];
  const listener = (msg) => {
    if (msg.sessionId !== sessionId) return;
    const p = msg.params;
    if (msg.method === 'Runtime.consoleAPICalled') {
      const text = p.args.map((a) => a.value !== undefined ? a.value : a.description).join(' ');
      if (p.type === 'error' || p.type === 'assert') consoleErrors.push(text);
      else if (p.type === 'warning') warnings.push(text);
    } else if (msg.method === 'Runtime.exceptionThrown') {
      consoleErrors.push(`uncaught: ${p.exceptionDetails.exception ? p.exceptionDetails.exception.description : p.exceptionDetails.text}`);
    } else if (msg.method === 'Log.entryAdded') {
      if (p.entry.level === 'error') consoleErrors.push(`${p.entry.source}: ${p.entry.text}`);
      else if (p.entry.level === 'warning') warnings.push(`${p.entry.source}: ${p.entry.text}`);
    } else if (msg.method === 'Network.requestWillBeSent') {
      requests.push(p.request.url);
    }
  };
  listeners.push(listener);
  const started = Date.now();
  await load(sessionId, url);
  let info = await evaluate(sessionId, inspect);
  while (info.state !== 'done' && Date.now() - started < 60000) {
    await sleep(100);
    info = await evaluate(sessionId, inspect);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (info.state !== 'done') problems.push(`charts did not settle within 60 s (state ${info.state})`);
  if (info.failed !== '0') problems.push(`${info.failed} chart(s) failed to render`);
  if (info.charts.length === 0) problems.push('no chart on the page');
  for (const c of info.charts)
    if (c.rendered !== 'yes' || !c.svg || c.marks === 0 || c.width < 50)
      problems.push(`chart ${c.id} not rendered (rendered=${c.rendered}, svg=${c.svg}, marks=${c.marks}, width=${c.width})`);
  for (const c of info.charts) {
    if (c.width > c.card + 1) problems.push(`chart ${c.id} is wider than its card (${c.width} > ${c.card} px)`);
    if (c.container && c.width < 0.9 * c.card) problems.push(`chart ${c.id} does not use the card's width (${c.width} of ${c.card} px)`);
    if (c.truncated.length) problems.push(`chart ${c.id} truncates labels: ${c.truncated.slice(0, 3).join(' | ')}`);
    if (c.siTicks.length) problems.push(`chart ${c.id} has SI-suffixed ticks instead of plain units: ${c.siTicks.slice(0, 3).join(' | ')}`);
    if (c.negativeTicks.length) problems.push(`chart ${c.id} of a positive quantity has negative ticks: ${c.negativeTicks.slice(0, 3).join(' | ')}`);
  }
  for (const t of info.wideTables) problems.push(`table needs horizontal scrolling at 1400 px: ${t}`);
  if (info.paretoExplained === false) problems.push('the Pareto chart does not explain its marker');
  for (const s of ['headline', 'per-config', 'components', 'power-time', 'accuracy', 'carbon', 'statistics', 'method'])
    if (!info.sections.includes(s) && s !== 'headline') problems.push(`section #${s} missing`);
  for (const e of consoleErrors) problems.push(`console error: ${e}`);
  if (!requests.includes(url)) problems.push('the network listener did not see the page itself (test broken?)');
  const foreign = requests.filter((r) => r !== url);
  for (const r of foreign) problems.push(`network request: ${r.slice(0, 120)}`);
  // Full-page screenshot, kept as a test artefact next to the page.
  const height = Math.min(info.height, 20000);
  await send('Emulation.setDeviceMetricsOverride', {width: 1400, height, deviceScaleFactor: 1, mobile: false}, sessionId);
  const shot = await send('Page.captureScreenshot', {format: 'png', captureBeyondViewport: true,
    clip: {x: 0, y: 0, width: 1400, height, scale: 1}}, sessionId);
  const png = page.replace(/\.html$/, '') + '.png';
  fs.writeFileSync(png, Buffer.from(shot.data, 'base64'));
  if (process.env.GREENTRAIN_E2E_TILES) {  // for looking at the page in pieces
    for (let y = 0, i = 0; y < height; y += 2400, i++) {
      const tile = await send('Page.captureScreenshot', {format: 'png', captureBeyondViewport: true,
        clip: {x: 0, y, width: 1400, height: Math.min(2400, height - y), scale: 1}}, sessionId);
      fs.writeFileSync(png.replace(/\.png$/, `-${i}.png`), Buffer.from(tile.data, 'base64'));
    }
  }
  listeners.splice(listeners.indexOf(listener), 1);
  await send('Target.closeTarget', {targetId});
  const rendered = info.charts.filter((c) => c.rendered === 'yes').length;
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${path.basename(page)}: ${rendered}/${info.charts.length} charts, ` +
              `${info.tables} tables, ${consoleErrors.length} console errors, ${foreign.length} requests, ` +
              `${warnings.length} warnings, ${seconds} s; screenshot ${png}`);
  for (const w of warnings) console.log(`     warning: ${w}`);
  for (const p of problems) console.log(`     ${p}`);
  return problems.length === 0;
}

async function checkWithoutScripts(page) {
  const {targetId, sessionId} = await openTab();
  await send('Emulation.setScriptExecutionDisabled', {value: true}, sessionId);
  await load(sessionId, pathToFileURL(page).href);
  const {root} = await send('DOM.getDocument', {depth: 1}, sessionId);
  const tables = (await send('DOM.querySelectorAll', {nodeId: root.nodeId, selector: 'table'}, sessionId)).nodeIds.length;
  const pendingRoot = (await send('DOM.querySelectorAll', {nodeId: root.nodeId, selector: 'html[data-charts=pending]'}, sessionId)).nodeIds.length;
  await send('Target.closeTarget', {targetId});
  const ok = tables >= 8 && pendingRoot === 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${path.basename(page)} without scripts: ${tables} tables, scripts ${pendingRoot ? 'off' : 'ran'}`);
  return ok;
}

(async () => {
  if (pages.length === 0) { console.error('no page to check'); finish(2); }
  let ok = true;
  try {
    for (const p of pages) ok = (await checkPage(p)) && ok;
    for (const p of pages)
      for (const width of [400, 1400]) ok = (await checkWidth(p, width)).length === 0 && ok;
    ok = (await checkWithoutScripts(pages[0])) && ok;
  } catch (e) {
    console.error(`FAIL: ${e.message}\n${browserLog.slice(-2000)}`);
    ok = false;
  }
  console.log(ok ? 'OK: every page rendered offline without errors' : 'FAILED');
  finish(ok ? 0 : 1);
})();
