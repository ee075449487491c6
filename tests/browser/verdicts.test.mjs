// Browser test of the editor's verdicts and health: results name their
// revision and scope, health on load (badges, overview), unknown keys with a
// one-click rename, Test connection buttons, and a download with errors
// that asks first. The real binary on a loopback port, Debian's chromium
// driven by playwright-core (no browser download).
//
//   CONFIG_EDITOR_BIN  use this binary instead of building one
//   CHROMIUM           browser path (default /usr/bin/chromium)
//   CI=true            a missing browser fails instead of skipping
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const artifacts = join(here, 'artifacts');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const password = 'browser-test-pw';
const s3Secret = 'S3SECRET-do-not-show';

const bundleYAML = `# browser test bundle
SERVER_HOSTNAME: quay.example.test
PREFERRED_URL_SCHEME: http
DB_URI: postgresql://quay:dbpw-do-not-show@db.example.test/quay
BUILDLOGS_REDIS:
  host: redis.example.test
USER_EVENTS_REDIS:
  host: redis.example.test
DISTRIBUTED_STORAGE_CONFIG:
  us-east:
    - S3Storage
    - s3_bucket: quay-us
      storage_path: /registry
      s3_access_key: AKIAEXAMPLE
      s3_secret_key: ${s3Secret}
      host: s3.us-east-1.example.test
DISTRIBUTED_STORAGE_PREFERENCE:
  - us-east
SECRET_KEY: secret-key-do-not-show
DATABASE_SECRET_KEY: db-secret-do-not-show
AUTHENTICATION_TYPE: Kerberos
FEATURE_MAILNG: true
`;

let tmp, server, baseURL, context, serverLog = '';

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitHealthy(url, ms) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const r = await fetch(url + '/healthz');
      if (r.ok) return;
      last = new Error('healthz ' + r.status);
    } catch (e) { last = e; }
    if (server.exitCode !== null) throw new Error('editor exited: ' + serverLog);
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error('editor did not become healthy: ' + last + '\n' + serverLog);
}

const haveBrowser = existsSync(browserPath);
if (!haveBrowser && process.env.CI === 'true') {
  throw new Error(`${browserPath} is missing: install Debian's chromium (tests/browser/run.sh does); CI never skips the browser test`);
}

before(async () => {
  if (!haveBrowser) return;
  tmp = mkdtempSync(join(tmpdir(), 'ce-verdicts-'));
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
  server = spawn(bin, ['editor', '-c', bundleDir, '-p', password, '--addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', d => { serverLog += d; });
  server.stderr.on('data', d => { serverLog += d; });
  await waitHealthy(baseURL, 15000);
  context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: browserPath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (context) await context.close();
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// problems collects console errors (CSP violations included) of a page.
function watch(page) {
  const problems = [];
  page.on('console', m => {
    if (m.type() === 'error' && !/favicon/.test(m.location().url || '')) problems.push(m.text());
  });
  page.on('pageerror', e => problems.push('pageerror: ' + e.message));
  return problems;
}

async function login(page) {
  await page.goto(baseURL + '/');
  assert.match(page.url(), /\/login$/, 'unauthenticated visit goes to the login page');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(baseURL + '/');
  await page.waitForSelector('h1:has-text("Overview")');
}


// shots saves a screenshot in light and dark.
async function shots(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: join(artifacts, `verdicts-${name}-${scheme}.png`), fullPage: false });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('verdicts name their scope and revision, health shows on load', { skip: !haveBrowser && 'no chromium (outside CI)' }, async () => {
  const page = await context.newPage();
  const problems = watch(page);
  await login(page);

  // health on load: badges in the navigation, the overview says what is wrong
  const authLine = await page.textContent('dt:has-text("Authentication") + dd');
  assert.match(authLine, /Kerberos — invalid \(\d+ error\(s\)\)/);
  assert.ok(await page.locator('nav.side .badge').count() > 0, 'no badges in the navigation');
  assert.match(await page.textContent('#summary'), /error\(s\).*offline validation of the whole configuration, revision \d+\./s);
  assert.doesNotMatch(await page.textContent('#summary'), /can be downloaded/);
  await shots(page, 'overview');

  // a section without problems, validated alone: its verdict speaks of it only
  await page.click('nav.side a:has-text("Redis")');
  await page.waitForSelector('h1:has-text("Redis")');
  assert.ok(await page.locator('button:has-text("Test connection")').count() === 1, 'no Test connection button');
  await page.click('button:has-text("Save and validate this section")');
  await page.waitForSelector('#section-status');
  const status = await page.textContent('#section-status');
  assert.match(status, /This section \(Redis\): no problems — offline validation of revision \d+\./);
  assert.doesNotMatch(await page.textContent('body'), /can be downloaded/, 'a section verdict speaks of the whole bundle');
  await shots(page, 'section');

  // unknown keys: the suggestion and a one-click rename
  await page.click('nav.side a:has-text("Unknown keys")');
  await page.waitForSelector('h1:has-text("Unknown keys")');
  assert.match(await page.textContent('main'), /did you mean FEATURE_MAILING\?/);
  await shots(page, 'unknown');
  await page.click('button:has-text("Rename FEATURE_MAILNG to FEATURE_MAILING")');
  await page.waitForSelector('.flash:has-text("Renamed FEATURE_MAILNG to FEATURE_MAILING.")');
  assert.match(await page.textContent('main'), /No unknown keys/);
  assert.equal(await page.locator('nav.side a:has-text("Unknown keys") .badge').count(), 0);
  // the summary follows the new revision
  const rev = await page.textContent('#rev');
  assert.match(await page.textContent('#summary'), new RegExp(`revision ${rev}\\.`));

  // a full validation: each result is shown once
  await page.click('header button:has-text("Validate configuration changes")');
  await page.waitForSelector('h1:has-text("Validation results")');
  const text = await page.textContent('body');
  const kerberos = (text.match(/AUTHENTICATION_TYPE must be one of/g) || []).length;
  assert.equal(kerberos, 1, `the Kerberos error is shown ${kerberos} times`);
  await shots(page, 'results');

  // the download asks first, naming the count
  await page.click('header a:has-text("Download configuration")');
  await page.waitForSelector('h1:has-text("Download with errors?")');
  assert.match(await page.textContent('main .alert'), /has \d+ error\(s\)/);
  await shots(page, 'download');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a:has-text("Download anyway")'),
  ]);
  assert.equal(download.suggestedFilename(), 'quay-config.tar.gz');
  assert.deepEqual(problems, [], 'console errors: ' + problems.join('; '));
  await page.close();
});
