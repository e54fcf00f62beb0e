// Firefox (SpiderMonkey): Debian's /usr/bin/firefox-esr, headless, a fresh profile whose prefs stop
// it from phoning home (no telemetry, updates, safe browsing, remote settings, captive-portal or
// connectivity checks). Playwright's patched Firefox cannot be downloaded here, so the page drives
// itself: a node:http server on 127.0.0.1 serves dist/ and tests/runtimes/, the page
// (tests/runtimes/firefox/) runs the smoke suite on the main thread and in a module Web Worker plus
// the browser extras (fromPixels on canvas/bitmap/image sources, IndexedDB save/load) and POSTs the
// reports back. The browser is started in its own process group and killed by that id in a
// finally, on success, failure and timeout alike. No firefox-esr: a clear SKIPPED line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { golden, assertReport, staticServer, deadline, type SmokeReport } from './helpers.js';

const FIREFOX = '/usr/bin/firefox-esr';
const REPORT_TIMEOUT_MS = 60_000;

/** Prefs for the fresh profile: nothing leaves 127.0.0.1, no first-run pages. */
const PREFS: Record<string, boolean | number | string> = {
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'browser.aboutwelcome.enabled': false,
  'browser.discovery.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.search.geoip.url': '',
  'browser.search.update': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.topsites.contile.enabled': false,
  'captivedetect.canonicalURL': '',
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.update.enabled': false,
  'geo.enabled': false,
  'media.gmp-manager.url': '',
  'media.gmp-gmpopenh264.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.trr.mode': 5,
  'services.settings.server': 'http://127.0.0.1:9/',
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.unified': false,
  'toolkit.coverage.endpoint.base': '',
};

function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(res, 5000);
    child.once('exit', () => { clearTimeout(timer); res(); });
    // The group this test created (detached: firefox-esr leads it); its content processes go too.
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
  });
}

test('firefox: the smoke suite in a page and a Web Worker matches Node; fromPixels and IndexedDB in the browser', async () => {
  if (!existsSync(FIREFOX)) {
    console.log(`  SKIPPED: firefox-esr not installed (${FIREFOX} is missing; .ci/run installs it with apt-get install -y firefox-esr)`);
    return;
  }
  const { report: gold } = await golden();
  let resolveReport!: (r: { page: SmokeReport; worker: SmokeReport; extras: { ok: boolean; errors: string[] } & Record<string, unknown> }) => void;
  let rejectReport!: (e: Error) => void;
  const reported = new Promise<Parameters<typeof resolveReport>[0]>((res, rej) => { resolveReport = res; rejectReport = rej; });
  const { server, origin } = await staticServer(['/dist/', '/tests/runtimes/'], {
    onPost: (path, body) => {
      if (path === '/report') {
        try { resolveReport(JSON.parse(body)); } catch (e) { rejectReport(new Error(`unparsable report: ${(e as Error).message}`)); }
      } else if (path === '/error') {
        rejectReport(new Error(`the page failed: ${body}`));
      }
    },
  });
  const profile = mkdtempSync(join(tmpdir(), 'simdcnn-firefox-'));
  writeFileSync(join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  let child: ChildProcess | undefined;
  let log = '';
  const t0 = Date.now();
  try {
    child = spawn(FIREFOX, ['--headless', '--no-remote', '--new-instance', '--profile', profile, `${origin}/tests/runtimes/firefox/index.html`], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: profile, MOZ_CRASHREPORTER_DISABLE: '1', MOZ_DISABLE_AUTO_SAFE_MODE: '1', MOZ_HEADLESS: '1' },
    });
    const onExit = () => { try { process.kill(-child!.pid!, 'SIGKILL'); } catch { /* gone */ } };
    process.once('exit', onExit);
    child.once('exit', (code, signal) => {
      process.removeListener('exit', onExit);
      rejectReport(new Error(`firefox exited (${code ?? signal}) before the page reported:\n${log.slice(-2000)}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { log += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { log += d; });
    const limit = deadline(REPORT_TIMEOUT_MS, 'the firefox page');
    let r: Awaited<typeof reported>;
    try {
      r = await Promise.race([reported, limit.promise]);
    } finally {
      limit.cancel();
    }
    const ua = (r.page.runtime.match(/Firefox\/[\d.]+/) ?? ['firefox'])[0];
    console.log(`  ${ua}: report after ${Date.now() - t0} ms (browser start included); page: init ${r.page.initMs} ms, suite ${r.page.totalMs} ms; worker: suite ${r.worker.totalMs} ms`);
    console.log(`  ${assertReport(r.page, gold, 'firefox page', 'relaxed-simd')}`);
    console.log(`  ${assertReport(r.worker, gold, 'firefox worker', 'simd')}`);
    assert.equal(r.extras.errors, [], 'firefox: browser extras');
    assert.ok(r.extras.ok);
    console.log(`  firefox: fromPixels on canvas, OffscreenCanvas, ImageBitmap and <img> equals the ImageData path ${JSON.stringify(r.extras.fromPixels)}`);
    console.log(`  firefox: writeArtifacts('indexeddb://…') → readArtifacts → loadModel: the same logits; a missing record: ${(r.extras.indexeddb as { missing: string }).missing}`);
  } catch (e) {
    if (log) console.error(`  firefox output:\n${log.slice(-3000)}`);
    throw e;
  } finally {
    if (child) await killGroup(child);
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
    rmSync(profile, { recursive: true, force: true });
  }
  assert.ok(child!.exitCode !== null || child!.signalCode !== null, 'firefox stopped');
});

test.run();
