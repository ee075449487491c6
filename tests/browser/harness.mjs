// Shared set-up of the browser tests: Debian's chromium driven by
// playwright-core (never a browser download), the real config-editor
// binary on a loopback port, login, axe-core checks (a11y.mjs) and
// screenshots light and dark, desktop and 390 px.
//
//   CONFIG_EDITOR_BIN  use this binary instead of building one (run.sh
//                      builds one for all files)
//   CHROMIUM           browser path (default /usr/bin/chromium)
//   CI=true            a missing browser or server fails instead of skipping
//
// A test file calls after(teardown): it stops every editor, server and
// browser the harness started and removes their temporary directories.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { checkPage, pageStates, withoutJS, emulateScheme } from './a11y.mjs';

export { checkPage, pageStates, withoutJS, emulateScheme };

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const artifacts = join(here, 'artifacts');
export const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
export const inCI = process.env.CI === 'true';

export const haveBrowser = existsSync(browserPath);
if (!haveBrowser && inCI) {
  throw new Error(`${browserPath} is missing: install Debian's chromium (tests/browser/run.sh does); CI never skips the browser test`);
}
// skip is the skip option of a test that needs the browser.
export const skip = !haveBrowser && 'no chromium (outside CI)';

export const desktop = { width: 1366, height: 900 };
export const mobile = { width: 390, height: 844 };

const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const cleanups = [];

// tempDir makes a directory removed by teardown.
export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

// launchBrowser starts a headless chromium, closed by teardown.
export async function launchBrowser() {
  const b = await chromium.launch({ executablePath: browserPath, headless: true, args: launchArgs });
  cleanups.push(() => b.close());
  return b;
}

// launchPersistent starts a chromium with a profile directory (downloads
// allowed), closed by teardown.
export async function launchPersistent(opts = {}) {
  const ctx = await chromium.launchPersistentContext(join(tempDir('ce-profile-'), 'profile'), {
    executablePath: browserPath, headless: true, acceptDownloads: true, viewport: desktop, args: launchArgs, ...opts,
  });
  cleanups.push(() => ctx.close());
  return ctx;
}

// teardown undoes what the harness started, newest first.
export async function teardown() {
  if (pageStates.checked) console.log(`axe-core and overflow checks passed on ${pageStates.checked} page states`);
  while (cleanups.length) {
    try { await cleanups.pop()(); } catch (e) { console.error('teardown:', e.message); }
  }
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

let builtBin;
// editorBinary is CONFIG_EDITOR_BIN or a binary built once per process.
export function editorBinary() {
  if (process.env.CONFIG_EDITOR_BIN) return resolve(process.env.CONFIG_EDITOR_BIN);
  if (!builtBin) {
    builtBin = join(tempDir('ce-bin-'), 'config-editor');
    execFileSync('go', ['build', '-o', builtBin, './cmd/config-editor'], { cwd: repo, stdio: 'inherit' });
  }
  return builtBin;
}

// A child process whose output is kept for error messages and that
// teardown stops.
function startProcess(bin, args) {
  const p = { log: '', proc: spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }) };
  p.proc.stdout.on('data', d => { p.log += d; });
  p.proc.stderr.on('data', d => { p.log += d; });
  p.exited = new Promise(r => p.proc.on('exit', r));
  p.stop = async () => {
    if (p.proc.exitCode === null && p.proc.signalCode === null) {
      p.proc.kill('SIGTERM');
      await p.exited;
    }
  };
  cleanups.push(p.stop);
  return p;
}

// Editor is a running config-editor. The bundle lives in dir/bundle
// (bundleDir), the state directory in dir/state unless args name one.
export class Editor {
  constructor({ yaml, files = {}, args = [], password = 'browser-test-pw', empty = false } = {}) {
    this.dir = tempDir('ce-browser-');
    this.bundleDir = join(this.dir, 'bundle');
    this.stateDir = join(this.dir, 'state');
    this.password = password;
    mkdirSync(this.bundleDir);
    if (!empty) writeFileSync(join(this.bundleDir, 'config.yaml'), yaml);
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(dirname(join(this.bundleDir, name)), { recursive: true });
      writeFileSync(join(this.bundleDir, name), data);
    }
    this.extra = args;
  }

  // start runs the binary on a free loopback port and waits for /healthz.
  async start() {
    const port = await freePort();
    this.baseURL = `http://127.0.0.1:${port}`;
    const args = ['editor', '-c', this.bundleDir, '-p', this.password, '--addr', `127.0.0.1:${port}`];
    if (!this.extra.includes('--state-dir')) args.push('--state-dir', this.stateDir);
    this.p = startProcess(editorBinary(), [...args, ...this.extra]);
    const end = Date.now() + 20000;
    let last;
    for (;;) {
      try {
        const r = await fetch(this.baseURL + '/healthz');
        if (r.ok) return this;
        last = 'healthz ' + r.status;
      } catch (e) { last = e.message; }
      if (this.p.proc.exitCode !== null) throw new Error('editor exited: ' + this.p.log);
      if (Date.now() > end) throw new Error(`editor did not become healthy (${last}):\n${this.p.log}`);
      await new Promise(r => setTimeout(r, 100));
    }
  }

  get log() { return this.p ? this.p.log : ''; }

  async stop() { if (this.p) await this.p.stop(); }

  // restart stops the editor and starts it again on the same bundle and
  // state directory (a new port).
  async restart() {
    await this.stop();
    return this.start();
  }
}

// startEditor writes the bundle (config.yaml = yaml, plus files) and
// starts an editor on it; empty: the bundle directory has no config.yaml.
export async function startEditor(opts) {
  return new Editor(opts).start();
}

// startRedis runs a private redis-server on a free loopback port with a
// password; null (the caller skips) when it is not installed outside CI.
export async function startRedis() {
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(existsSync);
  if (!bin) {
    if (inCI) throw new Error('redis-server is missing (Debian package redis-server); CI never skips');
    return null;
  }
  const port = await freePort();
  const password = 'redis-' + Math.random().toString(36).slice(2);
  const dir = tempDir('ce-redis-');
  const p = startProcess(bin, ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
    '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const end = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise(res => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) return { host: '127.0.0.1', port, password, stop: p.stop };
    if (p.proc.exitCode !== null || Date.now() > end) throw new Error('redis-server did not start:\n' + p.log);
    await new Promise(r => setTimeout(r, 100));
  }
}

// closedPort is a loopback port nobody listens on (just released).
export async function closedPort() { return freePort(); }

// watch collects console errors (CSP violations included) of a page.
export function watch(page) {
  const problems = [];
  page.on('console', m => {
    if (m.type() === 'error' && !/favicon/.test(m.location().url || '')) problems.push(m.text());
  });
  page.on('pageerror', e => problems.push('pageerror: ' + e.message));
  return problems;
}

// login logs page in to ed from the login page an unauthenticated visit of
// path leads to, checking both pages with axe-core; it waits for the
// heading h1 (a regexp or text) of the page that follows.
export async function login(page, ed, { path = '/', h1 = 'Overview', check = true } = {}) {
  await page.goto(ed.baseURL + path);
  assert.match(page.url(), /\/login(\?|$)/, 'an unauthenticated visit goes to the login page');
  if (check) await checkPage(page, 'login');
  await page.fill('#password', ed.password);
  await page.click('button[type=submit]');
  await page.waitForSelector(`main h1:has-text("${h1}")`);
  if (check) await checkPage(page, `after login: ${h1}`);
}

// newPage opens a page in a new context of browser (desktop, light unless
// opts say otherwise), logged in to ed.
export async function newPage(browser, ed, opts = {}) {
  const ctx = await browser.newContext({ viewport: desktop, ...opts });
  const page = await ctx.newPage();
  const problems = watch(page);
  await login(page, ed);
  return { ctx, page, problems };
}

// shots saves screenshots of the page state as it is, light and dark,
// desktop and 390 px (artifacts/<name>-<desktop|mobile>-<scheme>.png),
// and runs checkPage on each (axe-core in both colour schemes, no
// sideways scrolling at 390 px). The page returns to its viewport and
// the light scheme (works for pages without JavaScript too, see withoutJS).
// With scrollTo, that element is scrolled into view first.
export async function shots(page, name, { scrollTo } = {}) {
  mkdirSync(artifacts, { recursive: true });
  const before = page.viewportSize();
  for (const [tag, vp] of [['desktop', desktop], ['mobile', mobile]]) {
    await page.setViewportSize(vp);
    for (const scheme of ['light', 'dark']) {
      await emulateScheme(page, scheme);
      if (scrollTo) await page.locator(scrollTo).first().scrollIntoViewIfNeeded();
      await checkPage(page, `${name} ${tag} ${scheme}`);
      await page.screenshot({ path: join(artifacts, `${name}-${tag}-${scheme}.png`) });
    }
  }
  await emulateScheme(page, 'light');
  await page.setViewportSize(before);
}
