// Browser test of the config-editor UI: the real binary on a loopback port,
// Debian's chromium driven by playwright-core (no browser download).
//
// Set-up, axe-core checks and screenshots: harness.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifacts, skip, desktop as wide, mobile as narrow, startEditor, launchPersistent, launchBrowser,
  teardown, watch, checkPage, shots, login as harnessLogin, pageStates, withoutJS, tempDir,
} from './harness.mjs';

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
`;

let ed, baseURL, password, context, tmp;

before(async () => {
  if (skip) return;
  ed = await startEditor({ yaml: bundleYAML });
  ({ baseURL, password } = ed);
  tmp = tempDir('ce-editor-test-');
  mkdirSync(artifacts, { recursive: true });
  context = await launchPersistent();
});

after(teardown);

const login = page => harnessLogin(page, ed);

test('edit, add a location, validate, fix, download', { skip }, async () => {
  const page = await context.newPage();
  const problems = watch(page);
  await login(page);

  // page weight of the main page: HTML + CSS + JS as served
  const sizes = {};
  page.on('response', async r => {
    const t = r.request().resourceType();
    if (['document', 'stylesheet', 'script'].includes(t)) {
      try { sizes[r.url()] = (await r.body()).length; } catch { /* redirects have no body */ }
    }
  });
  await page.goto(baseURL + '/', { waitUntil: 'networkidle' });
  const weight = Object.values(sizes).reduce((a, b) => a + b, 0);
  console.log(`main page weight: ${weight} bytes`, sizes);
  assert.ok(weight > 50000 && weight < 100 * 1024, `main page weighs ${weight} bytes`);
  page.removeAllListeners('response');

  // section 1: server configuration (navigation through the boosted nav)
  await page.click('nav.side a:has-text("Server configuration")');
  await page.waitForSelector('h1:has-text("Server configuration")');
  await checkPage(page, 'section page');
  await page.fill('#f-SERVER_HOSTNAME', 'registry.example.test');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved Server configuration: 1 change(s).")');
  await checkPage(page, 'saved section');
  assert.equal(await page.inputValue('#f-SERVER_HOSTNAME'), 'registry.example.test');

  // section 2: access settings, a checkbox whose default is on
  await page.click('nav.side a:has-text("Access settings")');
  await page.waitForSelector('h1:has-text("Access settings")');
  assert.equal(await page.isChecked('#f-FEATURE_USER_CREATION'), true, 'default shown');
  await page.uncheck('#f-FEATURE_USER_CREATION');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved Access settings: 1 change(s).")');
  await checkPage(page, 'access settings saved');
  assert.equal(await page.isChecked('#f-FEATURE_USER_CREATION'), false);
  // a value outside the choices is shown as the selected one, marked
  // invalid, and kept by the save of an unrelated field
  assert.equal(await page.getAttribute('#f-AUTHENTICATION_TYPE', 'aria-invalid'), 'true');
  assert.match(await page.textContent('#f-AUTHENTICATION_TYPE-msg'), /Kerberos is not one of the choices/);
  assert.match(await page.textContent('#f-AUTHENTICATION_TYPE option:checked'), /^Kerberos/);

  // storage: add a second location
  await page.click('nav.side a:has-text("Registry storage")');
  await page.waitForSelector('h1:has-text("Registry storage")');
  await page.fill('#new-name', 'eu-west');
  await page.selectOption('#new-driver', 'S3Storage');
  await page.click('button:has-text("Add location")');
  await page.waitForSelector('legend:has-text("eu-west")');
  await checkPage(page, 'location added');
  assert.equal(await page.isChecked('#loc-1-pref'), true, 'new location is in the preference list');
  // the secret of the first location is an empty password input
  assert.equal(await page.inputValue('#f-loc-0-s3_secret_key'), '');
  assert.equal(await page.getAttribute('#f-loc-0-s3_secret_key', 'placeholder'), 'unchanged — type to replace');

  // validate the section: the missing bucket is reported next to its field
  await page.click('button:has-text("Save and validate storage")');
  const bucket = page.locator('#f-loc-1-s3_bucket');
  await bucket.and(page.locator('[aria-invalid="true"]')).waitFor();
  const described = await bucket.getAttribute('aria-describedby');
  assert.match(described, /f-loc-1-s3_bucket-msg/);
  const msg = await page.textContent('#f-loc-1-s3_bucket-msg');
  assert.match(msg, /s3_bucket/i, 'message names the missing argument: ' + msg);
  assert.match(await page.textContent('#summary'), /error/i, 'summary announces errors');
  await shots(page, 'storage-invalid', { scrollTo: '#f-loc-1-s3_bucket' });

  // fix it and validate again
  await bucket.fill('quay-eu');
  await page.fill('#f-loc-1-storage_path', '/registry');
  await page.click('button:has-text("Save and validate storage")');
  await page.locator('#f-loc-1-s3_bucket:not([aria-invalid])').waitFor();
  assert.equal(await page.inputValue('#f-loc-1-s3_bucket'), 'quay-eu');
  assert.equal(await page.locator('#f-loc-1-s3_bucket-msg').count(), 0);
  await checkPage(page, 'storage fixed');

  // whole-bundle validation from the top bar
  await page.click('header button:has-text("Validate configuration changes")');
  await page.waitForSelector('h1:has-text("Validation results")');
  await shots(page, 'validation-results');

  // the diff shows the edit and no secret
  await page.click('nav.side a:has-text("Changes")');
  await page.waitForSelector('h1:has-text("Changes")');
  await shots(page, 'diff');
  const diff = await page.textContent('table.diff');
  assert.match(diff, /SERVER_HOSTNAME: registry\.example\.test/);
  assert.doesNotMatch(diff, /do-not-show/);

  // main page screenshot
  await page.click('nav.side a:has-text("Overview")');
  await page.waitForSelector('h1:has-text("Overview")');
  await shots(page, 'overview-edited');
  const html = await page.content();
  assert.doesNotMatch(html, /do-not-show/);

  // download the tarball and read its config.yaml: the bundle still has
  // errors (Kerberos), so the download asks first, naming the count
  await page.click('header a:has-text("Download configuration")');
  await page.waitForSelector('h1:has-text("Download with errors?")');
  assert.match(await page.textContent('main .alert'), /has \d+ error\(s\)/);
  await shots(page, 'download-confirm');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a:has-text("Download anyway")'),
  ]);
  assert.equal(download.suggestedFilename(), 'quay-config.tar.gz');
  const tgz = join(tmp, 'quay-config.tar.gz');
  await download.saveAs(tgz);
  const out = join(tmp, 'extracted');
  mkdirSync(out);
  execFileSync('tar', ['-xzf', tgz, '-C', out, 'config.yaml']);
  const cfg = readFileSync(join(out, 'config.yaml'), 'utf8');
  assert.match(cfg, /^SERVER_HOSTNAME: registry\.example\.test$/m);
  assert.match(cfg, /^FEATURE_USER_CREATION: false$/m);
  assert.match(cfg, /^AUTHENTICATION_TYPE: Kerberos$/m, 'an out-of-enum value survives saving its section');
  assert.match(cfg, /^  eu-west:$/m);
  assert.match(cfg, /s3_bucket: quay-eu/);
  assert.match(cfg, new RegExp('s3_secret_key: ' + s3Secret), 'kept secret is in the download');
  assert.match(cfg, /^DISTRIBUTED_STORAGE_PREFERENCE:\n  - us-east\n  - eu-west$/m);
  assert.match(cfg, /^# browser test bundle$/m, 'comments survive');
  assert.doesNotMatch(cfg, /FRESH_LOGIN_TIMEOUT/, 'defaults are not written');

  assert.deepEqual(problems, [], 'console errors (CSP violations?)');
  await page.close();
});

test('core flow works without JavaScript', { skip }, async () => {
  const browser = await launchBrowser();
  try {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    withoutJS(ctx, await browser.newContext());
    const page = await ctx.newPage();
    await login(page);
    await page.goto(baseURL + '/group/Redis');
    await page.fill('#f-BUILDLOGS_REDIS-port', '6380');
    await page.click('#group-form button.primary');
    await page.waitForSelector('.flash:has-text("Saved Redis: 1 change(s).")');
    await checkPage(page, 'no-JS saved');
    assert.match(page.url(), /\/group\/Redis$/, 'POST-redirect-GET');

    // another tab saves meanwhile: this page's form becomes stale
    await page.fill('#f-BUILDLOGS_REDIS-host', 'typed.example.test');
    const other = await (await ctx.request.get(baseURL + '/group/Email')).text();
    const csrf = other.match(/name="_csrf" value="([^"]+)"/)[1];
    const rev = other.match(/name="rev" value="(\d+)"/)[1];
    const r = await ctx.request.post(baseURL + '/group/Email', {
      form: { _csrf: csrf, rev, 'f.MAIL_SERVER': 'smtp.example.test' }, maxRedirects: 0,
      headers: { 'Sec-Fetch-Site': 'same-origin' },
    });
    assert.equal(r.status(), 303, 'the other tab saved');
    await page.click('#group-form button.primary');
    await page.waitForSelector('.alert:has-text("configuration changed since this page was loaded")');
    await shots(page, 'nojs-conflict');
    assert.equal(await page.inputValue('#f-BUILDLOGS_REDIS-host'), 'typed.example.test', 'typed value kept');
    // saving the re-rendered form now works
    await page.click('#group-form button.primary');
    await page.waitForSelector('.flash:has-text("Saved Redis")');
    assert.equal(await page.inputValue('#f-BUILDLOGS_REDIS-host'), 'typed.example.test');

    // a native form post keeps a value outside the choices too
    await page.goto(baseURL + '/group/AccessSettings');
    // a rarely used field: under the closed "Advanced" block
    assert.equal(await page.isVisible('#f-FEATURE_USER_RENAME'), false, 'rare fields start hidden');
    await page.click('#advanced > summary');
    await checkPage(page, 'no-JS advanced open');
    await page.check('#f-FEATURE_USER_RENAME');
    await page.click('#group-form button.primary');
    await page.waitForSelector('.flash:has-text("Saved Access settings: 1 change(s).")');
    assert.match(await page.textContent('#f-AUTHENTICATION_TYPE option:checked'), /^Kerberos/);
    assert.equal(await page.isChecked('#f-FEATURE_USER_RENAME'), true);
  } finally {
    await browser.close();
  }
});

// Every screen size, light and dark: no sideways scrolling at 390 px, the
// navigation is a closed menu that opens (with and without JavaScript),
// axe-core finds nothing; screenshots of each combination.
const screenPages = ['/', '/group/Database', '/group/DistributedStorage', '/group/AccessSettings', '/certs', '/diff', '/search?q=redis'];

for (const js of [true, false]) {
  test(`screen sizes and colour schemes${js ? '' : ' without JavaScript'}`, { skip }, async () => {
    const browser = await launchBrowser();
    try {
      for (const scheme of ['light', 'dark']) {
        for (const [size, viewport] of [['390', narrow], ['desktop', wide]]) {
          const ctx = await browser.newContext({ viewport, colorScheme: scheme, javaScriptEnabled: js });
          if (!js) withoutJS(ctx, await browser.newContext({ viewport, colorScheme: scheme }));
          const page = await ctx.newPage();
          const problems = watch(page);
          await login(page);
          for (const path of screenPages) {
            await page.goto(baseURL + path);
            await page.waitForSelector('main h1', { timeout: 10000 }).catch(async e => {
              throw new Error(`${path} ${size} ${scheme}: at ${page.url()}: ${e.message}\n${(await page.content()).slice(0, 3000)}`);
            });
            await checkPage(page, `${path} ${size} ${scheme}${js ? '' : ' no-JS'}`);
            const summary = page.locator('#navmenu > summary');
            const link = page.locator('nav.side a:has-text("Overview")');
            if (size === '390') {
              assert.equal(await summary.isVisible(), true, 'the menu button is shown');
              assert.equal(await link.isVisible(), false, 'the navigation is collapsed');
              const top = (await page.locator('main').boundingBox()).y;
              assert.ok(top < 400, `content starts at y=${top}, after a short header`);
              const vb = await page.locator('header button:has-text("Validate")').boundingBox();
              assert.ok(vb && vb.x >= 0 && vb.x + vb.width <= narrow.width, 'the Validate button is not cut off: ' + JSON.stringify(vb));
            } else {
              assert.equal(await summary.isVisible(), false, 'no menu button on a wide screen');
              assert.equal(await link.isVisible(), true, 'the navigation is shown beside the content');
            }
          }
          const shot = `screen-${size}-${scheme}${js ? '' : '-nojs'}`;
          await page.goto(baseURL + '/group/Database');
          await page.screenshot({ path: join(artifacts, shot + '.png'), fullPage: false });
          if (size === '390') {
            // the menu opens, is checked in its open state and leads on
            await page.click('#navmenu > summary');
            await page.locator('nav.side a:has-text("Registry storage")').waitFor({ state: 'visible' });
            await checkPage(page, `menu open ${scheme}${js ? '' : ' no-JS'}`);
            await page.screenshot({ path: join(artifacts, shot + '-menu.png'), fullPage: false });
            await page.click('nav.side a:has-text("Registry storage")');
            await page.waitForSelector('h1:has-text("Registry storage")');
            await checkPage(page, `storage via the menu ${scheme}`);
          }
          assert.deepEqual(problems, [], 'console errors (CSP violations?)');
          await ctx.close();
        }
      }
    } finally {
      await browser.close();
    }
    console.log(`axe-core and overflow checks so far: ${pageStates.checked} page states`);
  });
}

test('a deep link survives the login; no open redirect', { skip }, async () => {
  const browser = await launchBrowser();
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(baseURL + '/group/Database');
    assert.match(page.url(), /\/login\?next=%2Fgroup%2FDatabase$/);
    await checkPage(page, 'login with next');
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Database")');
    assert.equal(page.url(), baseURL + '/group/Database');
    // required and common fields first: DB_URI is the section's first input
    const first = page.locator('#group-form :is(input, select, textarea):not([type=hidden])').first();
    assert.equal(await first.getAttribute('id'), 'f-DB_URI');
    await shots(page, 'deep-link');
    // a foreign target is ignored
    const ctx2 = await browser.newContext();
    const p2 = await ctx2.newPage();
    await p2.goto(baseURL + '/login?next=' + encodeURIComponent('//evil.example/'));
    await p2.fill('#password', password);
    await p2.click('button[type=submit]');
    await p2.waitForSelector('h1:has-text("Overview")');
    assert.equal(p2.url(), baseURL + '/');
  } finally {
    await browser.close();
  }
});

for (const js of [true, false]) {
  test(`search finds a setting and jumps to it${js ? '' : ' without JavaScript'}`, { skip }, async () => {
    const browser = await launchBrowser();
    try {
      for (const viewport of [wide, narrow]) {
        const ctx = await browser.newContext({ viewport, javaScriptEnabled: js });
        if (!js) withoutJS(ctx, await browser.newContext({ viewport }));
        const page = await ctx.newPage();
        await login(page);
        // by key, from the box in the header
        await page.fill('#hq', 'db_uri');
        await page.press('#hq', 'Enter');
        await page.waitForSelector('h1:has-text("Search settings")');
        if (viewport === wide) await shots(page, `search${js ? '' : '-nojs'}`);
        else await checkPage(page, `search results ${viewport.width}`);
        await page.click('ol.results li:first-child a');
        await page.waitForSelector('h1:has-text("Database")');
        assert.match(page.url(), /\/group\/Database\?field=DB_URI#f-DB_URI$/);
        assert.equal(await page.isVisible('#f-DB_URI'), true);
        // by words of a help text, landing on a rarely used field: the
        // Advanced block is open and the field in view
        await page.goto(baseURL + '/search?q=' + encodeURIComponent('rename'));
        const link = page.locator('ol.results a[href*="FEATURE_USER_RENAME"]');
        await link.click();
        await page.waitForSelector('h1:has-text("Access settings")');
        assert.equal(await page.isVisible('#f-FEATURE_USER_RENAME'), true, 'the advanced field is shown');
        const box = await page.locator('#f-FEATURE_USER_RENAME').boundingBox();
        const header = await page.locator('header.top').boundingBox();
        const below = viewport === wide ? header.y + header.height : 0; // sticky on wide screens only
        assert.ok(box && box.y >= below && box.y + box.height <= viewport.height, `scrolled into view below ${below}: ` + JSON.stringify(box));
        await checkPage(page, `search target ${viewport.width}`);
        await ctx.close();
      }
    } finally {
      await browser.close();
    }
  });
}
