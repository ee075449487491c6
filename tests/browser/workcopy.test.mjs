// Browser test of work that must not be lost: the working copy belongs to
// the user, not to the login (it survives a logout, a second browser and a
// restart of the editor), "Discard my changes", the question on logout
// while changes were neither downloaded nor pushed; and an editor started
// on an empty directory (a setup session that writes into the directory
// only when asked). Set-up, axe-core checks and screenshots: harness.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { skip, startEditor, launchBrowser, teardown, newPage, login, checkPage, shots, desktop } from './harness.mjs';

const bundleYAML = `# work copy browser test bundle
SERVER_HOSTNAME: quay.example.test
PREFERRED_URL_SCHEME: http
DB_URI: postgresql://quay:dbpw-do-not-show@db.example.test/quay
BUILDLOGS_REDIS:
  host: redis.example.test
USER_EVENTS_REDIS:
  host: redis.example.test
DISTRIBUTED_STORAGE_CONFIG:
  default:
    - LocalStorage
    - storage_path: /datastorage/registry
DISTRIBUTED_STORAGE_PREFERENCE:
  - default
SECRET_KEY: secret-key-do-not-show
DATABASE_SECRET_KEY: db-secret-do-not-show
`;

let browser;

before(async () => {
  if (skip) return;
  browser = await launchBrowser();
});

after(teardown);

// setHost saves SERVER_HOSTNAME through its section's form.
async function setHost(page, ed, host) {
  await page.goto(ed.baseURL + '/group/HostSettings');
  await page.fill('#f-SERVER_HOSTNAME', host);
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved")');
  await checkPage(page, `${host} saved`);
}

async function hostOf(page, ed) {
  await page.goto(ed.baseURL + '/group/HostSettings');
  return page.inputValue('#f-SERVER_HOSTNAME');
}

// logout presses Log out in the header: the login page follows, or the
// question (the answer of POST /logout).
async function logout(page) {
  await page.click('header button:has-text("Log out")');
  await page.waitForURL(/\/(login|logout)(\?|$)/);
  await page.waitForSelector('main h1');
}

test('the working copy survives a logout, a second browser and a restart; discard; the question on logout', { skip }, async () => {
  const ed = await startEditor({ yaml: bundleYAML });
  const first = await newPage(browser, ed);
  const page = first.page;
  await setHost(page, ed, 'kept.example.test');

  // logging out with changes that never left the editor asks first
  await logout(page);
  assert.match(await page.textContent('main h1'), /Log out\?/);
  assert.match(await page.textContent('main .alert'), /has changes that were neither downloaded nor pushed/);
  assert.match(await page.textContent('main'), /kept on the server/);
  await shots(page, 'logout-warning');
  await page.click('button:has-text("Log out and keep my changes")');
  await page.waitForURL(/\/login(\?|$)/);
  await checkPage(page, 'logged out');

  // the same browser logs in again: the copy is there
  await login(page, ed);
  assert.match(await page.textContent('dt:has-text("Changed since loading") + dd'), /yes/);
  assert.equal(await hostOf(page, ed), 'kept.example.test', 'after a logout');

  // a second browser sees the same copy
  const second = await newPage(browser, ed);
  assert.equal(await hostOf(second.page, ed), 'kept.example.test', 'in a second browser');
  await checkPage(second.page, 'second browser');
  await second.ctx.close();

  // a restart of the editor: the copy comes back from the state directory
  // (0600 in 0700), the mounted bundle was never written
  await first.ctx.close();
  await ed.restart();
  const file = join(ed.stateDir, 'quayconfig', 'working-copy.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(ed.stateDir, 'quayconfig')).mode & 0o777, 0o700);
  assert.equal(readFileSync(join(ed.bundleDir, 'config.yaml'), 'utf8'), bundleYAML, 'the mounted bundle changed');
  const third = await newPage(browser, ed);
  const p3 = third.page;
  assert.equal(await hostOf(p3, ed), 'kept.example.test', 'after a restart');
  await checkPage(p3, 'after a restart');

  // "Discard my changes" on the overview starts again from the bundle
  await p3.goto(ed.baseURL + '/');
  await p3.locator('#discard').scrollIntoViewIfNeeded();
  await shots(p3, 'discard', { scrollTo: '#discard' });
  await p3.click('#discard button:has-text("Discard my changes")');
  await p3.waitForSelector('.flash:has-text("Your changes were discarded")');
  assert.match(await p3.textContent('dt:has-text("Changed since loading") + dd'), /no/);
  assert.equal(await p3.locator('#discard').count(), 0, 'nothing left to discard');
  await checkPage(p3, 'discarded');
  assert.equal(await hostOf(p3, ed), 'quay.example.test');

  // without changes, logging out does not ask
  await logout(p3);
  assert.match(p3.url(), /\/login(\?|$)/);
  await checkPage(p3, 'logged out without a question');

  // a downloaded change does not ask either
  await login(p3, ed);
  await setHost(p3, ed, 'downloaded.example.test');
  await p3.goto(ed.baseURL + '/');
  const [download] = await Promise.all([
    p3.waitForEvent('download'),
    p3.click('header a:has-text("Download configuration")'),
  ]);
  assert.equal(download.suggestedFilename(), 'quay-config.tar.gz');
  await logout(p3);
  assert.match(p3.url(), /\/login(\?|$)/, 'a downloaded working copy asked on logout');

  // a change made after the download asks; "Discard my changes and log out"
  await login(p3, ed);
  await setHost(p3, ed, 'thrown-away.example.test');
  await logout(p3);
  assert.match(await p3.textContent('main h1'), /Log out\?/);
  await p3.click('button:has-text("Discard my changes and log out")');
  await p3.waitForURL(/\/login(\?|$)/);
  await login(p3, ed);
  assert.equal(await hostOf(p3, ed), 'quay.example.test', 'discarded on logout');
  assert.deepEqual(third.problems, [], 'console errors: ' + third.problems.join('; '));
  await third.ctx.close();
});

test('an empty directory starts a setup session, saved into the directory only when asked', { skip }, async () => {
  const ed = await startEditor({ empty: true });
  const ctx = await browser.newContext({ viewport: desktop });
  const page = await ctx.newPage();
  await login(page, ed);
  assert.match(await page.textContent('header .meta'), /setup session/);
  assert.match(await page.textContent('main'), /Setup session: no bundle was mounted/);
  await shots(page, 'setup-overview');

  // the historical API answers 202 for a setup session (cookie and basic auth)
  assert.equal((await page.request.get(ed.baseURL + '/api/v1/config')).status(), 202);
  const basic = 'Basic ' + Buffer.from('quayconfig:' + ed.password).toString('base64');
  assert.equal((await fetch(ed.baseURL + '/api/v1/config', { headers: { Authorization: basic } })).status, 202);

  // editing writes nothing into the directory
  await setHost(page, ed, 'new.example.test');
  assert.deepEqual(readdirSync(ed.bundleDir), [], 'the editor wrote into the directory without being asked');

  // "Save to DIR" writes config.yaml there; then it is the mounted bundle
  await page.goto(ed.baseURL + '/');
  const save = page.locator(`#save-setup button:has-text("Save to ${ed.bundleDir}")`);
  await save.scrollIntoViewIfNeeded();
  await shots(page, 'setup-save', { scrollTo: '#save-setup' });
  await save.click();
  await page.waitForSelector(`.flash:has-text("into ${ed.bundleDir}")`);
  await checkPage(page, 'setup saved');
  assert.ok(existsSync(join(ed.bundleDir, 'config.yaml')));
  assert.match(readFileSync(join(ed.bundleDir, 'config.yaml'), 'utf8'), /^SERVER_HOSTNAME: new\.example\.test$/m);
  assert.match(await page.textContent('header .meta'), /mounted bundle/);
  assert.equal((await page.request.get(ed.baseURL + '/api/v1/config')).status(), 200);
  await ctx.close();
});
