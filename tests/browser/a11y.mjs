// Checks the browser tests run on every page state they reach: axe-core
// (injected from node_modules, pinned in package.json) with 0 violations
// allowed, and, in a narrow viewport, no horizontal overflow.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// pageStates counts the states checked, for the test log.
export const pageStates = { checked: 0 };

function describe(v) {
  const nodes = v.nodes.slice(0, 5).map(n => '    ' + n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' ')).join('\n');
  return `  ${v.id} (${v.impact}): ${v.help}\n${nodes}`;
}

// A page of a context without JavaScript cannot run axe-core: its DOM is
// copied, scripts removed, into a JavaScript-enabled helper page of the
// same origin (same stylesheet, same viewport and colour scheme).
const helpers = new WeakMap();

// withoutJS registers the JavaScript-enabled browser context whose pages
// check the pages of the JavaScript-less context ctx.
export function withoutJS(ctx, helperCtx) { helpers.set(ctx, helperCtx); }

// schemes remembers the colour scheme emulated on a page (emulateScheme),
// for the helper page that checks it.
const schemes = new WeakMap();

// emulateScheme switches the page's colour scheme (prefers-color-scheme).
export async function emulateScheme(page, scheme) {
  await page.emulateMedia({ colorScheme: scheme });
  schemes.set(page, scheme);
}

async function runIn(page) {
  const ctx = helpers.get(page.context());
  if (!ctx) return axeViolationsOf(page);
  const url = new URL(page.url());
  const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
  const h = await ctx.newPage();
  try {
    await h.setViewportSize(page.viewportSize());
    if (schemes.has(page)) await h.emulateMedia({ colorScheme: schemes.get(page) });
    await h.route(url.origin + '/__axe__', r => r.fulfill({ status: 200, contentType: 'text/html', body: html }));
    await h.goto(url.origin + '/__axe__');
    await h.waitForLoadState('load');
    return { violations: await axeViolationsOf(h), scrollWidth: await h.evaluate(() => document.documentElement.scrollWidth) };
  } finally {
    await h.close();
  }
}

// axeViolations runs axe-core on the page (or its copy, see withoutJS).
export async function axeViolations(page) {
  const r = await runIn(page);
  return Array.isArray(r) ? r : r.violations;
}

// axeViolationsOf injects axe-core (page.evaluate is not subject to the
// page's Content-Security-Policy) and returns the violations.
async function axeViolationsOf(page) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(axeSource);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  return res;
}

// checkPage asserts 0 axe violations and, when the viewport is at most
// 600 px wide, no horizontal scrolling.
export async function checkPage(page, label) {
  const r = await runIn(page);
  const v = Array.isArray(r) ? r : r.violations;
  assert.equal(v.length, 0, `axe-core on ${label} (${page.url()}):\n${v.map(describe).join('\n')}`);
  const vp = page.viewportSize();
  if (vp && vp.width <= 600) {
    const sw = Array.isArray(r) ? await page.evaluate(() => document.documentElement.scrollWidth) : r.scrollWidth;
    assert.ok(sw <= vp.width, `${label} (${page.url()}) is ${sw} px wide in a ${vp.width} px viewport`);
  }
  pageStates.checked++;
}
