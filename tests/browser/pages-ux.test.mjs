// Browser test of the raw YAML view (problems with lines, revision
// conflicts), the storage page (driver refresh, Enter-to-add, one Save, the
// runtime plan, links to foreign errors), the generate buttons and the cached
// static assets: the real binary on a loopback port, Debian's chromium driven
// by playwright-core; axe-core on every page state. Set-up, checks and
// screenshots (light and dark, desktop and 390 px, into artifacts/):
// harness.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skip, startEditor, launchBrowser, teardown, newPage as openPage, checkPage, shots } from './harness.mjs';

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

let ed, baseURL, browser;

before(async () => {
  if (skip) return;
  ed = await startEditor({ yaml: bundleYAML, password: 'browser-ux-pw' });
  baseURL = ed.baseURL;
  browser = await launchBrowser();
});

after(teardown);

const newPage = (opts = {}) => openPage(browser, ed, opts);

test('static assets are hashed and served from the cache on the next page', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  const htmx = await page.getAttribute('script[src*="htmx"]', 'src');
  assert.match(htmx, /^\/static\/htmx\.min\.[0-9a-f]{12}\.js$/);
  const res = await page.request.get(baseURL + htmx, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.headers()['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(res.headers()['content-encoding'], 'gzip');
  await page.goto(baseURL + '/diff');  // a full page load
  await page.waitForSelector('h1:has-text("Changes")');
  await checkPage(page, 'diff, full load');
  const entries = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/static/')).map(e => [e.name, e.transferSize]));
  assert.ok(entries.some(([u]) => u.includes('htmx')), 'htmx is on the page: ' + JSON.stringify(entries));
  // a cached asset is transferred with 0 bytes: no request reached the server
  for (const [u, size] of entries) assert.equal(size, 0, `${u} transferred again (${size} bytes)`);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('config.yaml as text: secrets hidden, edit saved, syntax error with its line, revision conflict', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  await page.click('nav.side a:has-text("config.yaml as text")');
  await page.waitForSelector('h1:has-text("as text")');
  await checkPage(page, 'yaml view');
  const text = await page.inputValue('#yaml-text');
  assert.doesNotMatch(text, /do-not-show/);
  assert.match(text, /SECRET_KEY: <secret>/);
  await page.fill('#yaml-text', text.replace('SERVER_HOSTNAME: quay.example.test', 'SERVER_HOSTNAME: text.example.test'));
  await page.click('form.yamlform button.primary');
  await page.waitForSelector('.flash:has-text("Saved config.yaml")');
  assert.match(await page.textContent('#yaml-problems'), /Offline validation of revision/);
  assert.match(await page.inputValue('#yaml-text'), /SERVER_HOSTNAME: text\.example\.test/);
  assert.doesNotMatch(await page.content(), /do-not-show/);
  await shots(page, 'yaml');

  // a problem found by the validation is listed with its line
  const withError = (await page.inputValue('#yaml-text')).trimEnd() + '\nAUTHENTICATION_TYPE: Kerberos\n';
  const line = withError.trimEnd().split('\n').length;
  await page.fill('#yaml-text', withError);
  const rev = Number(await page.textContent('#rev'));
  await page.click('form.yamlform button.primary');
  await page.waitForSelector(`#yaml-problems:has-text("Offline validation of revision ${rev + 1}")`);
  const listed = await page.textContent('#yaml-problems + ul');
  assert.match(listed, new RegExp(`error line ${line} AccessSettings AUTHENTICATION_TYPE AUTHENTICATION_TYPE must be one of`), listed);
  await shots(page, 'yaml-problems', { scrollTo: '#yaml-problems' });

  // a syntax error saves nothing and names its line
  await page.fill('#yaml-text', 'SERVER_HOSTNAME: [broken\n');
  await page.click('form.yamlform button.primary');
  await page.waitForSelector('.alert:has-text("Nothing was saved")');
  assert.match(await page.textContent('.alert >> nth=0'), /line \d+/);
  await shots(page, 'yaml-syntax-error');

  // the same revision rules as the forms: a save from a page of an older
  // revision is refused and the typed text comes back
  await page.goto(baseURL + '/yaml');
  await page.waitForSelector('h1:has-text("as text")');
  const typed = (await page.inputValue('#yaml-text')).replace('AUTHENTICATION_TYPE: Kerberos', 'AUTHENTICATION_TYPE: Database');
  await page.fill('#yaml-text', typed);
  const other = await ctx.newPage();
  await other.goto(baseURL + '/group/HostSettings');
  await other.fill('#f-SERVER_HOSTNAME', 'other-tab.example.test');
  await other.click('#group-form button.primary');
  await other.waitForSelector('.flash:has-text("Saved")');
  await checkPage(other, 'the other tab saved');
  await other.close();
  await page.click('form.yamlform button.primary');
  await page.waitForSelector('.alert:has-text("changed since")');
  assert.equal(await page.inputValue('#yaml-text'), typed, 'the typed text is kept');
  await shots(page, 'yaml-conflict');
  // the refused saves answer 409 and 422 on purpose; nothing else may fail
  assert.deepEqual(problems.filter(p => !/status of 4(09|22)/.test(p)), []);
  await ctx.close();
});

test('storage: driver arguments at once, Enter adds a location, runtime plan, one Save, foreign errors link to their section', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  await page.click('nav.side a:has-text("Registry storage")');
  await page.waitForSelector('h1:has-text("Registry storage")');
  await checkPage(page, 'storage page');
  await page.selectOption('#loc-0-driver', 'GoogleCloudStorage');
  await page.waitForSelector('#f-loc-0-bucket_name');
  assert.equal(await page.inputValue('#loc-0-driver'), 'GoogleCloudStorage');
  await checkPage(page, 'storage driver changed');
  await page.selectOption('#loc-0-driver', 'S3Storage');
  await page.waitForSelector('#f-loc-0-s3_bucket');
  await page.fill('#new-name', 'eu-west');
  await page.press('#new-name', 'Enter');
  await page.waitForSelector('legend:has-text("eu-west")');
  assert.match(await page.textContent('.plan'), /QUAY_DISTRIBUTED_STORAGE_PREFERENCE="eu-west us-east"/);
  assert.equal(await page.locator('#main form').count(), 1, 'one form on the storage page');
  assert.deepEqual(await page.locator('#main button.primary').allTextContents(), ['Save storage'], 'one Save on the storage page');
  await shots(page, 'storage-plan', { scrollTo: '.plan' });

  // replication on with PREFERRED_URL_SCHEME http: the error belongs to
  // another section, and links to its field
  await page.check('#f-FEATURE_STORAGE_REPLICATION');
  await page.click('button:has-text("Save and validate storage")');
  const link = page.locator('a:has-text("Fix it in its section")');
  await link.first().waitFor();
  assert.match(await page.textContent('.problems'), /PREFERRED_URL_SCHEME/);
  await shots(page, 'storage-foreign-error', { scrollTo: '.problems' });
  await link.first().click();
  await page.waitForSelector('#f-PREFERRED_URL_SCHEME');
  assert.match(page.url(), /\/group\/\w+#f-PREFERRED_URL_SCHEME$/);
  assert.equal(await page.isVisible('#f-PREFERRED_URL_SCHEME'), true);
  await checkPage(page, 'foreign error target');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('generate DATABASE_SECRET_KEY needs the confirmation and never shows the value', { skip }, async () => {
  const { ctx, page, problems } = await newPage();
  await page.goto(baseURL + '/group/SecurityKeys');
  await checkPage(page, 'security keys');
  await page.check('#gen-DATABASE_SECRET_KEY-confirm');
  await page.click('button:has-text("Generate DATABASE_SECRET_KEY")');
  await page.waitForSelector('.flash:has-text("Generated a new DATABASE_SECRET_KEY")');
  assert.doesNotMatch(await page.content(), /do-not-show/);
  await shots(page, 'generate');
  assert.deepEqual(problems, []);
  await ctx.close();
});
