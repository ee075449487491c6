// Browser test of Operator mode. The Go test TestBrowserOperatorMode
// (internal/editor, run by run.sh) starts a real kube-apiserver with a
// QuayRegistry, the editor in Operator mode and a stand-in for the Quay
// Operator that writes rollout conditions after a push, then runs this
// file with:
//
//   OPERATOR_EDITOR_URL       http://127.0.0.1:PORT of the editor
//   OPERATOR_EDITOR_PASSWORD  its password
//   CHROMIUM                  browser path (default /usr/bin/chromium)
//
// Set-up, axe-core checks and screenshots: harness.mjs.
//
// Without OPERATOR_EDITOR_URL there is nothing to test: the file is a
// no-op when run on its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, launchPersistent, teardown, watch, checkPage, shots } from './harness.mjs';

const baseURL = process.env.OPERATOR_EDITOR_URL;
const password = process.env.OPERATOR_EDITOR_PASSWORD;
let context;

before(async () => {
  if (!baseURL) return;
  context = await launchPersistent();
});

after(teardown);

test('load from the cluster, edit, Reconfigure Quay, follow the rollout', { skip: !baseURL && 'started by TestBrowserOperatorMode' }, async () => {
  const page = await context.newPage();
  const problems = watch(page);

  await page.goto(baseURL + '/');
  await checkPage(page, 'operator login');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(baseURL + '/');
  await page.waitForSelector('header a:has-text("Reconfigure Quay")');
  await checkPage(page, 'operator overview');

  // A group of a managed component is read-only and says why.
  await page.goto(baseURL + '/group/HostSettings');
  const note = await page.textContent('p.note');
  assert.match(note, /managed by the Quay Operator/);
  assert.match(note, /route component of QuayRegistry/);
  assert.equal(await page.locator('#group-form fieldset[disabled]').count(), 1, 'fields disabled');
  await shots(page, 'operator-read-only');

  // The bundle came from the cluster: edit it.
  await page.goto(baseURL + '/group/UserVisibleSettings');
  const title = page.locator('[name="f.REGISTRY_TITLE"]');
  assert.equal(await title.inputValue(), 'From the cluster');
  await title.fill('Pushed from the browser');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved")');
  await checkPage(page, 'operator group saved');

  // Reconfigure Quay: push, then the rollout view follows the Operator.
  await page.click('header a:has-text("Reconfigure Quay")');
  await page.waitForSelector('h1:has-text("Reconfigure Quay")');
  await shots(page, 'operator-reconfigure');
  // With an error in the working copy (mailing on, no MAIL_SERVER) the
  // push asks first, naming the count, and pushes only when confirmed.
  await page.goto(baseURL + '/group/Email');
  await page.check('input[type="checkbox"][name="f.FEATURE_MAILING"]');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved")');
  await page.goto(baseURL + '/operator');
  await page.click('#reconfigure');
  const anyway = page.locator('#push-anyway button');
  await anyway.waitFor();
  assert.match(await anyway.textContent(), /Push anyway, with [1-9]\d* error\(s\)/);
  // nothing was pushed, so the answer is 422, which Chromium logs
  const refused = problems.findIndex(p => /status of 422/.test(p));
  assert.notEqual(refused, -1, 'the refused push answers 422');
  problems.splice(refused, 1);
  await checkPage(page, 'push with errors asks');
  await anyway.click();
  await page.waitForSelector('.flash:has-text("Created bundle Secret")');
  await checkPage(page, 'pushed');
  await page.waitForSelector('#rollout td:has-text("MigrationsInProgress")', { timeout: 20000 });
  await page.waitForSelector('#rollout [data-phase="available"]', { timeout: 30000 });
  const rollout = await page.textContent('#rollout');
  assert.match(rollout, /HealthChecksPassing/);
  assert.match(rollout, /https:\/\/quay\.example\.test/);
  assert.match(rollout, /3\.12\.1/);
  await shots(page, 'operator-rollout');
  await page.screenshot({ path: join(artifacts, 'operator-rollout.png'), fullPage: true });

  // The history lists the new bundle Secret as current, and the old one.
  await page.goto(baseURL + '/operator/history');
  assert.equal(await page.locator('table.history tbody tr').count(), 2);
  assert.match(await page.textContent('tr.current'), /current/);
  await shots(page, 'operator-history');

  assert.deepEqual(problems, [], 'console errors (CSP violations?)');
  await page.close();
});
