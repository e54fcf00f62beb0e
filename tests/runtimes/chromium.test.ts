// Chromium: Debian's /usr/bin/chromium, headless, a fresh --user-data-dir, driven by playwright-core.
// A tiny static server on 127.0.0.1 (a port the OS picks) serves dist/ and tests/runtimes/; the page
// (tests/runtimes/browser/) runs the smoke suite on the main thread (embedded wasm, default build)
// and in a module Web Worker (init from fetch('/dist/wasm/simd.wasm')), and both reports are
// compared with Node's; the page also runs the browser extras (tests/runtimes/browser/extras.js:
// fromPixels on canvas/bitmap/image sources, an IndexedDB save/load). No chromium on the machine: a clear SKIPPED line, and the test passes
// (.ci/run installs chromium with apt, so CI runs it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { golden, assertReport, staticServer, deadline, type SmokeReport } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// The flags of TOOLCHAIN.md (playwright-core adds --user-data-dir for the persistent context).
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PAGE_TIMEOUT_MS = 45_000;

test('chromium: the smoke suite in a page and in a Web Worker matches Node', async () => {
  if (!existsSync(CHROMIUM)) {
    console.log(`  SKIPPED: chromium not installed (${CHROMIUM} is missing; .ci/run installs it with apt-get install -y chromium)`);
    return;
  }
  const { report: gold } = await golden();
  // A variable specifier: tests/run.mjs's esbuild must not bundle playwright-core (it reads its own files).
  const pw = 'playwright-core';
  const { chromium } = (await import(pw)) as typeof import('playwright-core');
  const { server, origin } = await staticServer(['/dist/', '/tests/runtimes/']);
  const userDataDir = mkdtempSync(join(tmpdir(), 'simdcnn-chromium-'));
  let context: BrowserContext | undefined;
  const problems: string[] = [];
  try {
    const t0 = Date.now();
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    console.log(`  chromium ${version} up in ${Date.now() - t0} ms, serving ${origin}`);
    await page.goto(`${origin}/tests/runtimes/browser/index.html`, { timeout: 15_000 });
    const limit = deadline(PAGE_TIMEOUT_MS, 'the smoke page');
    let reports: { page: SmokeReport; worker: SmokeReport; extras: { ok: boolean; errors: string[]; fromPixels?: unknown } };
    try {
      reports = await Promise.race([
        page.evaluate(() => (window as unknown as { smokeReports: Promise<{ page: SmokeReport; worker: SmokeReport; extras: { ok: boolean; errors: string[] } }> }).smokeReports),
        limit.promise,
      ]);
    } finally {
      limit.cancel();
    }
    assert.equal(problems, [], 'no page errors');
    console.log(`  page: init ${reports.page.initMs} ms, suite ${reports.page.totalMs} ms; worker: suite ${reports.worker.totalMs} ms; total ${Date.now() - t0} ms`);
    console.log(`  ${assertReport(reports.page, gold, 'chromium page', 'relaxed-simd')}`);
    console.log(`  ${assertReport(reports.worker, gold, 'chromium worker', 'simd')}`);
    assert.equal(reports.extras?.errors, [], 'chromium: browser extras (fromPixels on browser images, IndexedDB save/load)');
    assert.ok(reports.extras.ok);
    console.log(`  chromium: fromPixels on canvas, OffscreenCanvas, ImageBitmap and <img> equals the ImageData path; indexeddb:// save/load gives the same logits`);
  } catch (e) {
    if (problems.length) console.error(`  page problems:\n  ${problems.join('\n  ')}`);
    throw e;
  } finally {
    const closing = deadline(10_000, 'closing chromium');
    await Promise.race([context?.close(), closing.promise]).catch((e) => console.error(`  ${e.message}`));
    closing.cancel();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

test.run();
