// Browser test of the editor's verdicts and health: results name their
// revision and scope and say when they are out of date, health on load and
// after every save (badges, overview), unknown keys with a one-click
// rename, Test connection against real servers on loopback, and a download
// with errors that asks first. Set-up, axe-core checks and screenshots:
// harness.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import {
  skip, startEditor, startRedis, closedPort, launchPersistent, teardown, watch, login, checkPage, shots, tempDir,
} from './harness.mjs';

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
      s3_secret_key: S3SECRET-do-not-show
      host: s3.us-east-1.example.test
DISTRIBUTED_STORAGE_PREFERENCE:
  - us-east
SECRET_KEY: secret-key-do-not-show
DATABASE_SECRET_KEY: db-secret-do-not-show
AUTHENTICATION_TYPE: Kerberos
FEATURE_MAILNG: false
`;

let ed, context;

before(async () => {
  if (skip) return;
  ed = await startEditor({ yaml: bundleYAML });
  context = await launchPersistent();
});

after(teardown);

// revOf is the revision the header shows.
async function revOf(page) { return Number(await page.textContent('#rev')); }

test('verdicts name their scope and revision, health shows on load and after every save', { skip }, async () => {
  const page = await context.newPage();
  const problems = watch(page);
  await login(page, ed);

  // health on load: badges in the navigation, the overview says what is wrong
  const authLine = await page.textContent('dt:has-text("Authentication") + dd');
  assert.match(authLine, /Kerberos — invalid \(\d+ error\(s\)\)/);
  assert.ok(await page.locator('nav.side .badge').count() > 0, 'no badges in the navigation');
  assert.match(await page.textContent('#summary'), /error\(s\).*offline validation of the whole configuration, revision \d+\./s);
  assert.doesNotMatch(await page.textContent('#summary'), /can be downloaded/);
  await shots(page, 'verdicts-overview');

  // a section without problems, validated alone: its verdict speaks of it only
  await page.click('nav.side a:has-text("Redis")');
  await page.waitForSelector('h1:has-text("Redis")');
  await checkPage(page, 'Redis section');
  assert.equal(await page.locator('button:has-text("Test connection")').count(), 1, 'no Test connection button');
  await page.click('button:has-text("Save and validate this section")');
  await page.waitForSelector('#section-status');
  const status = await page.textContent('#section-status');
  assert.match(status, /This section \(Redis\): no problems — offline validation of revision \d+\./);
  assert.doesNotMatch(await page.textContent('body'), /can be downloaded/, 'a section verdict speaks of the whole bundle');
  await shots(page, 'verdicts-section');

  // a section with an error: the error under its field and no "no problems"
  await page.click('nav.side a:has-text("Access settings")');
  await page.waitForSelector('h1:has-text("Access settings")');
  await page.click('button:has-text("Save and validate this section")');
  await page.waitForSelector('#section-status');
  const rev = await revOf(page);
  assert.match(await page.textContent('#section-status'), new RegExp(`This section \\(Access settings\\): 1 error\\(s\\), \\d+ warning\\(s\\) — offline validation of revision ${rev}\\.`));
  assert.doesNotMatch(await page.textContent('main'), /no problems/);
  assert.equal(await page.getAttribute('#f-AUTHENTICATION_TYPE', 'aria-invalid'), 'true');
  await shots(page, 'verdicts-section-error', { scrollTo: '#section-status' });

  // the configuration changes elsewhere: the section's result of the old
  // revision is replaced by one of the new revision (health runs after
  // every save), and the summary follows
  await page.click('nav.side a:has-text("Server configuration")');
  await page.waitForSelector('h1:has-text("Server configuration")');
  await page.fill('#f-SERVER_HOSTNAME', 'registry.example.test');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved Server configuration")');
  await checkPage(page, 'server configuration saved');
  const rev2 = await revOf(page);
  assert.ok(rev2 > rev, `revision ${rev2} after a save at ${rev}`);
  assert.match(await page.textContent('#summary'), new RegExp(`revision ${rev2}\\.`), 'the summary names the current revision');
  await page.click('nav.side a:has-text("Access settings")');
  await page.waitForSelector('h1:has-text("Access settings")');
  const now = await page.textContent('#section-status');
  assert.match(now, new RegExp(`1 error\\(s\\), \\d+ warning\\(s\\) — offline validation of revision ${rev2}\\.`), now);
  await checkPage(page, 'section result of the new revision');

  // unknown keys: the suggestion and a one-click rename
  await page.click('nav.side a:has-text("Unknown keys")');
  await page.waitForSelector('h1:has-text("Unknown keys")');
  assert.match(await page.textContent('main'), /did you mean FEATURE_MAILING\?/);
  await shots(page, 'verdicts-unknown');
  await page.click('button:has-text("Rename FEATURE_MAILNG to FEATURE_MAILING")');
  await page.waitForSelector('.flash:has-text("Renamed FEATURE_MAILNG to FEATURE_MAILING.")');
  await checkPage(page, 'unknown key renamed');
  assert.match(await page.textContent('main'), /No unknown keys/);
  assert.equal(await page.locator('nav.side a:has-text("Unknown keys") .badge').count(), 0);
  // the summary follows the new revision
  assert.match(await page.textContent('#summary'), new RegExp(`revision ${await revOf(page)}\\.`));

  // a full validation: each result is shown once
  await page.click('header button:has-text("Validate configuration changes")');
  await page.waitForSelector('h1:has-text("Validation results")');
  const text = await page.textContent('body');
  const kerberos = (text.match(/AUTHENTICATION_TYPE must be one of/g) || []).length;
  assert.equal(kerberos, 1, `the Kerberos error is shown ${kerberos} times`);
  await shots(page, 'verdicts-results');

  // the download asks first, naming the count
  await page.click('header a:has-text("Download configuration")');
  await page.waitForSelector('h1:has-text("Download with errors?")');
  assert.match(await page.textContent('main .alert'), /has \d+ error\(s\)/);
  await shots(page, 'verdicts-download');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a:has-text("Download anyway")'),
  ]);
  assert.equal(download.suggestedFilename(), 'quay-config.tar.gz');

  // fixing the error: health follows the save at once, without validating
  await page.goto(ed.baseURL + '/group/AccessSettings');
  const badge = page.locator('nav.side a:has-text("Access settings") .badge');
  assert.equal(await badge.count(), 1, 'the invalid section has a badge');
  await page.selectOption('#f-AUTHENTICATION_TYPE', 'Database');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved Access settings")');
  assert.equal(await badge.count(), 0, 'the badge is gone after the save');
  await checkPage(page, 'access settings fixed');
  await page.click('nav.side a:has-text("Overview")');
  await page.waitForSelector('h1:has-text("Overview")');
  assert.doesNotMatch(await page.textContent('dt:has-text("Authentication") + dd'), /invalid/);
  const summary = await page.textContent('#health');
  assert.match(summary, new RegExp(`No errors, \\d+ warning\\(s\\) — offline validation of revision ${await revOf(page)}\\.`), summary);
  await checkPage(page, 'overview without errors');

  // without errors the download does not ask
  const [plain] = await Promise.all([
    page.waitForEvent('download'),
    page.click('header a:has-text("Download configuration")'),
  ]);
  assert.equal(plain.suggestedFilename(), 'quay-config.tar.gz');
  assert.deepEqual(problems, [], 'console errors: ' + problems.join('; '));
  await page.close();
});

// Test connection runs a section's online probes only: against a private
// redis-server on loopback it shows what was proved next to the fields,
// against a closed loopback port what failed, under the field concerned;
// each storage location has its own button.
test('Test connection proves or fails next to the fields', { skip }, async t => {
  const redis = await startRedis();
  if (!redis) { t.skip('redis-server is not installed (outside CI)'); return; }
  const closed = await closedPort();
  const good = tempDir('ce-storage-');
  const bad = join(tempDir('ce-storage-'), 'missing');
  mkdirSync(good, { recursive: true });
  const conn = await startEditor({ yaml: `SERVER_HOSTNAME: localhost
DB_URI: postgresql://quay:db-pw-do-not-show@127.0.0.1:${closed}/quay
BUILDLOGS_REDIS:
  host: 127.0.0.1
  port: ${redis.port}
  password: ${redis.password}
USER_EVENTS_REDIS:
  host: 127.0.0.1
  port: ${redis.port}
  password: ${redis.password}
FEATURE_STORAGE_REPLICATION: false
DISTRIBUTED_STORAGE_CONFIG:
  good:
    - LocalStorage
    - storage_path: ${good}
  bad:
    - LocalStorage
    - storage_path: ${bad}
DISTRIBUTED_STORAGE_PREFERENCE:
  - good
  - bad
` });
  const page = await context.newPage();
  const problems = watch(page);
  await login(page, conn);

  // Redis: proved by a real server
  await page.click('nav.side a:has-text("Redis")');
  await page.waitForSelector('h1:has-text("Redis")');
  await page.click('button:has-text("Test connection")');
  const proved = page.locator('.proved');
  await proved.waitFor();
  assert.match(await proved.textContent(), new RegExp(`PING answered by the Redis of BUILDLOGS_REDIS at 127\\.0\\.0\\.1:${redis.port}`));
  assert.match(await page.textContent('#section-status'), /This section \(Redis\): no problems — online validation of revision \d+\./);
  assert.doesNotMatch(await page.content(), new RegExp(redis.password), 'the Redis password is in the page');
  await shots(page, 'connection-redis', { scrollTo: '.proved' });

  // the online result belongs to its revision: after a change it is
  // replaced by the offline result of the new one, the proof is gone
  await page.fill('#f-BUILDLOGS_REDIS-port', String(redis.port));
  await page.fill('#f-USER_EVENTS_REDIS-host', 'localhost');
  await page.click('#group-form button.primary');
  await page.waitForSelector('.flash:has-text("Saved Redis")');
  assert.match(await page.textContent('#section-status'), new RegExp(`no problems — offline validation of revision ${await revOf(page)}\\.`));
  assert.equal(await page.locator('.proved').count(), 0, 'a proof of an older revision is still shown');
  await checkPage(page, 'Redis saved after the test');

  // Database: a closed port fails under DB_URI
  await page.click('nav.side a:has-text("Database")');
  await page.waitForSelector('h1:has-text("Database")');
  assert.equal(await page.getAttribute('#f-DB_URI', 'aria-invalid'), null, 'testing Redis probed the database');
  await page.click('button:has-text("Test connection")');
  await page.locator('#f-DB_URI[aria-invalid="true"]').waitFor();
  const dbMsg = await page.textContent('#f-DB_URI-msg');
  assert.match(dbMsg, new RegExp(`could not connect to PostgreSQL at .*127\\.0\\.0\\.1:${closed}`), dbMsg);
  assert.match(await page.textContent('#section-status'), /This section \(Database\): 1 error\(s\), \d+ warning\(s\) — online validation of revision \d+\./);
  assert.doesNotMatch(await page.content(), /do-not-show/);
  await shots(page, 'connection-db-failed', { scrollTo: '#f-DB_URI' });

  // storage: one button per location, each probes its own location only
  await page.click('nav.side a:has-text("Registry storage")');
  await page.waitForSelector('h1:has-text("Registry storage")');
  await page.click('button:has-text("Test connection to good")');
  await page.locator('.proved').waitFor();
  assert.match(await page.textContent('.proved'), /Storage location "good" \(LocalStorage\): wrote, read back and removed a test file/);
  assert.doesNotMatch(await page.textContent('main'), /does not exist/, 'testing good probed bad');
  await checkPage(page, 'storage location proved');
  await page.click('button:has-text("Test connection to bad")');
  await page.locator('#loc-1 .error').first().waitFor();
  assert.match(await page.textContent('#loc-1'), /does not exist/);
  await shots(page, 'connection-storage', { scrollTo: '#loc-1' });

  assert.deepEqual(problems, [], 'console errors: ' + problems.join('; '));
  await page.close();
});
