// Chromium with threads: a page served with COOP/COEP (cross-origin isolated) runs the threads
// check (tests/runtimes/threads-check.js) on its main thread and in a module Web Worker; every
// result must be bit-identical with 1, 2 and 3 threads. Then the same page without the headers:
// one thread and the one warning naming the cause.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { staticServer, deadline } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

interface Check { threads: number[]; results: number; mismatches: string[]; backend: string; ms: number }

test('chromium: threads on an isolated page (main thread and module worker), fallback without isolation', async () => {
  if (!existsSync(CHROMIUM)) {
    console.log(`  SKIPPED: chromium not installed (${CHROMIUM} is missing)`);
    return;
  }
  const pw = 'playwright-core';
  const { chromium } = (await import(pw)) as typeof import('playwright-core');
  const isolated = await staticServer(['/dist/', '/tests/runtimes/'], { headers: ISOLATED });
  const plain = await staticServer(['/dist/', '/tests/runtimes/']);
  const userDataDir = mkdtempSync(join(tmpdir(), 'simdcnn-chromium-'));
  let context: BrowserContext | undefined;
  const problems: string[] = [];
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30_000 });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await page.goto(`${isolated.origin}/tests/runtimes/browser/threads.html`, { timeout: 15_000 });
    const limit = deadline(90_000, 'the threads page');
    let reports: { isolated: boolean; page: Check; worker: Check };
    try {
      reports = await Promise.race([page.evaluate(() => (window as unknown as { threadReports: Promise<{ isolated: boolean; page: Check; worker: Check }> }).threadReports), limit.promise]);
    } finally {
      limit.cancel();
    }
    assert.equal(problems, [], 'no page errors');
    assert.ok(reports.isolated, 'the page is cross-origin isolated');
    for (const [where, r] of [['page (main thread, spin-wait)', reports.page], ['module worker (Atomics.wait)', reports.worker]] as const) {
      assert.equal(r.threads, [1, 2, 3], where);
      assert.equal(r.mismatches, [], where);
      console.log(`  chromium ${where}: ${r.results} results bit-identical with 1, 2 and 3 threads (${r.backend}, ${r.ms} ms)`);
    }
    // Without COOP/COEP: no SharedArrayBuffer, one thread, one warning.
    const warnings: string[] = [];
    const page2 = await context.newPage();
    page2.on('console', (m) => { if (m.type() === 'warning' && m.text().includes('simdcnn')) warnings.push(m.text()); });
    await page2.goto(`${plain.origin}/tests/runtimes/browser/index.html`, { timeout: 15_000 });
    const n = await page2.evaluate(async (url) => {
      const s = await import(url);
      await s.init({ threads: 2 });
      await s.init({ threads: 4 });
      return s.threads() as number;
    }, '/dist/index.js');
    assert.is(n, 1);
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], 'cross-origin isolated');
    console.log(`  chromium without COOP/COEP: threads() = 1, one warning: ${warnings[0]}`);
  } catch (e) {
    if (problems.length) console.error(`  page problems:\n  ${problems.join('\n  ')}`);
    throw e;
  } finally {
    const closing = deadline(10_000, 'closing chromium');
    await Promise.race([context?.close(), closing.promise]).catch((e) => console.error(`  ${e.message}`));
    closing.cancel();
    for (const s of [isolated, plain]) { s.server.closeAllConnections(); await new Promise((r) => s.server.close(r)); }
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

test.run();
