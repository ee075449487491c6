// Browser test of the raw YAML view, the storage page's driver refresh and
// Enter-to-add, the generate buttons, the certificate details and the cached
// static assets: the real binary on a loopback port, Debian's chromium driven
// by playwright-core. Screenshots (light and dark, desktop and 390 px) go to
// artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const artifacts = join(here, 'artifacts');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const password = 'browser-ux-pw';

const bundleYAML = `# ux browser test bundle
SERVER_HOSTNAME: quay.example.test
PREFERRED_URL_SCHEME: http
DB_URI: postgresql://quay:dbpw-do-not-show@db.example.test/quay
DISTRIBUTED_STORAGE_CONFIG:
  us-east:
    - S3Storage
    - s3_bucket: quay-us
      storage_path: /registry
      s3_access_key: AKIAEXAMPLE
      s3_secret_key: s3-do-not-show
DISTRIBUTED_STORAGE_PREFERENCE:
  - us-east
SECRET_KEY: secret-key-do-not-show
DATABASE_SECRET_KEY: db-secret-do-not-show
`;

let tmp, server, baseURL, browser, serverLog = '';

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

const haveBrowser = existsSync(browserPath);
if (!haveBrowser && process.env.CI === 'true') {
  throw new Error(`${browserPath} is missing; CI never skips the browser test`);
}
const skip = !haveBrowser && 'no chromium (outside CI)';

before(async () => {
  if (!haveBrowser) return;
  tmp = mkdtempSync(join(tmpdir(), 'ce-browser-ux-'));
  mkdirSync(artifacts, { recursive: true });
  const bundleDir = join(tmp, 'bundle');
  mkdirSync(bundleDir);
  writeFileSync(join(bundleDir, 'config.yaml'), bundleYAML);
  let bin = process.env.CONFIG_EDITOR_BIN;
  if (!bin) {
    bin = join(tmp, 'config-editor');
    execFileSync('go', ['build', '-o', bin, './cmd/config-editor'], { cwd: repo, stdio: 'inherit' });
  }
  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['editor', '-c', bundleDir, '-p', password, '--addr', `127.0.0.1:${port}`,
    '--state-dir', join(tmp, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', d => { serverLog += d; });
  server.stderr.on('data', d => { serverLog += d; });
  const end = Date.now() + 15000;
  for (;;) {
    try { if ((await fetch(baseURL + '/healthz')).ok) break; } catch { /* not yet */ }
    if (server.exitCode !== null || Date.now() > end) throw new Error('editor did not start: ' + serverLog);
    await new Promise(r => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: browserPath, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, ...opts });
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', m => { if (m.type() === 'error' && !/favicon/.test(m.location().url || '')) problems.push(m.text()); });
  page.on('pageerror', e => problems.push('pageerror: ' + e.message));
  await page.goto(baseURL + '/');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:has-text("Overview")');
  return { ctx, page, problems };
}

async function shots(name, path) {
  for (const [w, h, tag] of [[1366, 900, 'desktop'], [390, 844, 'mobile']]) {
    for (const scheme of ['light', 'dark']) {
      const { ctx, page } = await newPage({ viewport: { width: w, height: h }, colorScheme: scheme });
      await page.goto(baseURL + path);
      await page.evaluate(() => document.querySelector('#main h1').scrollIntoView());
      await page.screenshot({ path: join(artifacts, `${name}-${tag}-${scheme}.png`), fullPage: false });
      await ctx.close();
    }
  }
}

test('static assets are hashed and served from the cache on the next page', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  const htmx = await page.getAttribute('script[src*="htmx"]', 'src');
  assert.match(htmx, /^\/static\/htmx\.min\.[0-9a-f]{12}\.js$/);
  const res = await page.request.get(baseURL + htmx, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.headers()['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(res.headers()['content-encoding'], 'gzip');
  await page.goto(baseURL + '/diff');  // a full page load
  await page.waitForSelector('h1:has-text("Changes")');
  const entries = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/static/')).map(e => [e.name, e.transferSize]));
  assert.ok(entries.some(([u]) => u.includes('htmx')), 'htmx is on the page: ' + JSON.stringify(entries));
  // a cached asset is transferred with 0 bytes: no request reached the server
  for (const [u, size] of entries) assert.equal(size, 0, `${u} transferred again (${size} bytes)`);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('config.yaml as text: secrets hidden, edit saved, syntax error shown with its line', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  await page.click('nav.side a:has-text("config.yaml as text")');
  await page.waitForSelector('h1:has-text("as text")');
  const text = await page.inputValue('#yaml-text');
  assert.doesNotMatch(text, /do-not-show/);
  assert.match(text, /SECRET_KEY: <secret>/);
  await page.fill('#yaml-text', text.replace('SERVER_HOSTNAME: quay.example.test', 'SERVER_HOSTNAME: text.example.test'));
  await page.click('form.yamlform button.primary');
  await page.waitForSelector('.flash:has-text("Saved config.yaml")');
  assert.match(await page.textContent('#yaml-problems'), /Offline validation of revision/);
  assert.match(await page.inputValue('#yaml-text'), /SERVER_HOSTNAME: text\.example\.test/);
  assert.doesNotMatch(await page.content(), /do-not-show/);
  await page.fill('#yaml-text', 'SERVER_HOSTNAME: [broken\n');
  await page.click('form.yamlform button.primary');
  await page.waitForSelector('.alert:has-text("Nothing was saved")');
  assert.match(await page.textContent('.alert >> nth=0'), /line \d+/);
  // the refused save answers 422 on purpose; nothing else may fail
  assert.deepEqual(problems.filter(p => !/status of 422/.test(p)), []);
  await ctx.close();
  await shots('yaml', '/yaml');
});

test('storage: driver arguments at once, Enter adds a location, runtime plan shown', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  await page.click('nav.side a:has-text("Registry storage")');
  await page.waitForSelector('h1:has-text("Registry storage")');
  await page.selectOption('#loc-0-driver', 'GoogleCloudStorage');
  await page.waitForSelector('#f-loc-0-bucket_name');
  assert.equal(await page.inputValue('#loc-0-driver'), 'GoogleCloudStorage');
  await page.selectOption('#loc-0-driver', 'S3Storage');
  await page.waitForSelector('#f-loc-0-s3_bucket');
  await page.fill('#new-name', 'eu-west');
  await page.press('#new-name', 'Enter');
  await page.waitForSelector('legend:has-text("eu-west")');
  assert.match(await page.textContent('.plan'), /QUAY_DISTRIBUTED_STORAGE_PREFERENCE="eu-west us-east"/);
  assert.equal(await page.locator('#main form').count(), 1, 'one form on the storage page');
  assert.deepEqual(problems, []);
  await ctx.close();
  await shots('storage-plan', '/group/DistributedStorage');
});

test('generate DATABASE_SECRET_KEY needs the confirmation and never shows the value', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  await page.goto(baseURL + '/group/SecurityKeys');
  await page.check('#gen-DATABASE_SECRET_KEY-confirm');
  await page.click('button:has-text("Generate DATABASE_SECRET_KEY")');
  await page.waitForSelector('.flash:has-text("Generated a new DATABASE_SECRET_KEY")');
  assert.doesNotMatch(await page.content(), /do-not-show/);
  assert.deepEqual(problems, []);
  await ctx.close();
});
