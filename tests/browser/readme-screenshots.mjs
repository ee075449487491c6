// Copies the README's screenshots from artifacts/ (taken by run.sh) into
// docs/screenshots/. Run after the browser tests:
//
//   tests/browser/run.sh && node tests/browser/readme-screenshots.mjs
//
// Fails when a screenshot is missing or the set exceeds 1.5 MB.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, repo } from './harness.mjs';

// [artifact, file in docs/screenshots] — the README shows these.
const pick = [
  ['verdicts-overview-desktop-light.png', 'overview.png'],
  ['connection-db-failed-desktop-dark.png', 'test-connection-dark.png'],
  ['storage-plan-desktop-light.png', 'storage.png'],
  ['yaml-problems-desktop-dark.png', 'yaml-dark.png'],
  ['screen-390-dark-menu.png', 'mobile-menu-dark.png'],
  ['verdicts-section-error-mobile-light.png', 'mobile-section.png'],
];

const dir = join(repo, 'docs', 'screenshots');
const missing = pick.filter(([a]) => !existsSync(join(artifacts, a))).map(([a]) => a);
if (missing.length) {
  console.error('missing in tests/browser/artifacts (run tests/browser/run.sh first):', missing.join(', '));
  process.exit(1);
}
mkdirSync(dir, { recursive: true });
const keep = new Set(pick.map(([, d]) => d));
for (const f of readdirSync(dir)) if (f.endsWith('.png') && !keep.has(f)) rmSync(join(dir, f));
let total = 0;
for (const [a, d] of pick) {
  copyFileSync(join(artifacts, a), join(dir, d));
  const size = statSync(join(dir, d)).size;
  total += size;
  console.log(`${d}\t${size} bytes\t(from ${a})`);
}
console.log(`total ${total} bytes`);
if (total > 1.5 * 1024 * 1024) {
  console.error('the screenshots exceed 1.5 MB');
  process.exit(1);
}
