// The demo page (demo/) in headless Chromium: build it (node demo/build.mjs), serve it with its own
// server (demo/serve.mjs on 127.0.0.1, a free port), draw digits with mouse events and check the
// predicted class the page shows, save demo/screenshot.png (full page), then measure the page's
// accuracy on the first 100 (and 1,000) MNIST test digits painted into the drawing canvas (10× up)
// and sent through the page's own path (canvas pixels → MNIST preprocessing → LeNet-5). Requests that leave
// the page's origin are blocked and fail the test (the demo must work offline). No chromium on the
// machine: a clear SKIPPED line, and the test passes (.ci/run installs chromium with apt).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { parseIdx } from '../src/data/idx.ts';
import { init, loadModel, tensor, type SavedModel } from '../src/index.ts';
import { mnistPreprocess, normalise } from '../demo/preprocess.ts';
// Types only (window.demo, Classification): esbuild drops this import, tsc checks the page's code.
import type { Classification } from '../demo/demo.ts';
import { CHROMIUM, DEMO, FLAGS, MNIST, ROOT, draw, ellipse, startServer, stopServer } from './demo-page.ts';

/** The figure asked for: the first 100 MNIST test digits; 1,000 more are reported (and held to the same bar). */
const DIGITS = 100;
const MORE = 1000;
const MIN_ACCURACY = 0.95;

test('demo: draws digits, classifies them, and reads 100 MNIST test digits through the canvas', async () => {
  if (!existsSync(CHROMIUM)) {
    console.log(`  SKIPPED: chromium not installed (${CHROMIUM} is missing; .ci/run installs it with apt-get install -y chromium)`);
    return;
  }
  for (const f of ['model.json', 'weights.bin']) assert.ok(existsSync(join(DEMO, 'model', f)), `demo/model/${f} is shipped`);
  const t0 = Date.now();
  const built = spawnSync(process.execPath, [join(DEMO, 'build.mjs'), '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.is(built.status, 0, `node demo/build.mjs failed: ${built.stderr}`);
  const tBuild = Date.now();

  // The first 1,000 MNIST test digits and their labels (the first 100 are the asserted figure).
  const images = parseIdx(readFileSync(join(MNIST, 't10k-images-idx3-ubyte')), 't10k-images');
  const labels = parseIdx(readFileSync(join(MNIST, 't10k-labels-idx1-ubyte')), 't10k-labels');
  const digits = Array.from({ length: MORE }, (_, i) => Array.from(images.data.subarray(i * 784, (i + 1) * 784)));
  const truth = Array.from(labels.data.subarray(0, MORE));

  // For comparison: the same weights on the same digits straight from the file, in Node, with and
  // without the page's preprocessing (no canvas).
  await init();
  const model = loadModel({
    topology: JSON.parse(readFileSync(join(DEMO, 'model', 'model.json'), 'utf8')) as SavedModel['topology'],
    weights: new Uint8Array(readFileSync(join(DEMO, 'model', 'weights.bin'))).buffer,
  });
  const nodeCorrect = (pre: boolean): number[] => {
    const x = new Float32Array(MORE * 784);
    digits.forEach((d, i) => {
      const grey = d.map((v) => v / 255);
      // The page's path starts from RGBA pixels (the canvas): grey ink on black, opaque.
      const rgba = new Uint8ClampedArray(784 * 4);
      d.forEach((v, p) => rgba.set([v, v, v, 255], p * 4));
      x.set(normalise(pre ? mnistPreprocess({ data: rgba, width: 28, height: 28 })!.image : grey), i * 784);
    });
    const xt = tensor(x, [MORE, 28, 28, 1]);
    const y = model.predict(xt);
    const logits = y.toArray();
    xt.dispose();
    y.dispose();
    return truth.map((_, i) => {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      return row.indexOf(Math.max(...row));
    });
  };
  const direct = nodeCorrect(false), directPre = nodeCorrect(true);
  model.dispose();

  const pw = 'playwright-core'; // a variable: tests/run.mjs's esbuild must not bundle playwright-core
  const { chromium } = (await import(pw)) as typeof import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'simdcnn-demo-'));
  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  const problems: string[] = [];
  try {
    const started = await startServer();
    server = started.child;
    const { url } = started;
    const origin = new URL(url).origin;
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 30_000,
      viewport: { width: 1100, height: 900 },
      deviceScaleFactor: 1,
    });
    // Offline: anything not from the demo's own server is refused and reported.
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(`${origin}/`)) return route.continue();
      problems.push(`request outside the demo: ${u}`);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    const tLaunch = Date.now();

    await page.goto(url);
    const info = await page.evaluate(() => window.demo.ready);
    assert.is(info.params, 61706, 'LeNet-5 parameter count');
    assert.is(await page.getAttribute('#status', 'class'), 'status ok');
    const tReady = Date.now();

    // Mouse drawings: a '1' (one vertical stroke), a '0' (an ellipse), a '7' (a bar and a slant).
    const one = await draw(page, [[[142, 40], [140, 140], [138, 240]]]);
    const zero = await draw(page, [ellipse(140, 140, 62, 96)]);
    const seven = await draw(page, [[[78, 62], [200, 62], [170, 130], [128, 236]]]);
    const sevenConfidence = await page.textContent('#confidence');
    console.log(`  drawn with the mouse: '1' → ${one}, '0' → ${zero}, '7' → ${seven} (${sevenConfidence})`);
    assert.equal([one, zero, seven], ['1', '0', '7'], 'classes of the drawn digits');
    assert.equal(problems, [], 'no page errors, no requests outside the demo');
    await page.screenshot({ path: join(DEMO, 'screenshot.png'), fullPage: true });
    const tDrawn = Date.now();

    // Real MNIST test digits through the canvas: each 28×28 digit painted 10× up (white on
    // black) with putImageData, then the page's own classify (pixels → preprocessing → network).
    const run = await page.evaluate((set: number[][]) => {
      const ctx = window.demo.pad.getContext('2d')!;
      const img = ctx.createImageData(280, 280);
      const predicted: Array<Classification['label']> = [];
      let ms = 0;
      for (const d of set) {
        for (let y = 0; y < 280; y++) {
          for (let x = 0; x < 280; x++) {
            const g = d[Math.floor(y / 10) * 28 + Math.floor(x / 10)], o = (y * 280 + x) * 4;
            img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
            img.data[o + 3] = 255;
          }
        }
        ctx.putImageData(img, 0, 0);
        const r = window.demo.classify();
        predicted.push(r.label);
        ms += r.ms;
      }
      window.demo.clear();
      return { predicted, ms };
    }, digits);
    const tAcc = Date.now();
    const count = (pred: ArrayLike<number | null>, n: number): number => truth.slice(0, n).filter((t, i) => pred[i] === t).length;
    const wrong = truth.slice(0, DIGITS).map((t, i) => [i, t, run.predicted[i]] as const).filter(([, t, p]) => t !== p);
    const correct = count(run.predicted, DIGITS), correctMore = count(run.predicted, MORE);
    console.log(`  MNIST test digits 0–${DIGITS - 1} through the page's canvas path: ${correct}/${DIGITS} correct (${(correct / DIGITS * 100).toFixed(0)}%)`
      + `${wrong.length ? `; wrong: ${wrong.map(([i, t, p]) => `#${i} ${t}→${p}`).join(', ')}` : ''}`);
    console.log(`  digits 0–${MORE - 1}: ${correctMore}/${MORE} (${(correctMore / MORE * 100).toFixed(1)}%); mean classify (forward pass) ${(run.ms / MORE).toFixed(2)} ms`);
    console.log(`  the same weights in Node, no canvas: ${count(direct, DIGITS)}/${DIGITS} and ${count(direct, MORE)}/${MORE} on the raw digits, `
      + `${count(directPre, DIGITS)}/${DIGITS} and ${count(directPre, MORE)}/${MORE} after the page's preprocessing`);
    assert.ok(correct / DIGITS >= MIN_ACCURACY, `demo accuracy ${correct}/${DIGITS} < ${MIN_ACCURACY * 100}%`);
    assert.ok(correctMore / MORE >= MIN_ACCURACY, `demo accuracy ${correctMore}/${MORE} < ${MIN_ACCURACY * 100}%`);
    assert.equal(problems, [], 'no page errors, no requests outside the demo');
    console.log(`  timing: build ${tBuild - t0} ms, reference + server + chromium ${tLaunch - tBuild} ms, page ready ${tReady - tLaunch} ms, `
      + `drawing + screenshot ${tDrawn - tReady} ms, ${MORE} digits ${tAcc - tDrawn} ms; total ${Date.now() - t0} ms (backend ${info.backend})`);
  } catch (e) {
    if (problems.length) console.error(`  page problems:\n  ${problems.join('\n  ')}`);
    throw e;
  } finally {
    await Promise.race([context?.close(), new Promise((r) => setTimeout(r, 10_000))]).catch((e) => console.error(`  closing chromium: ${(e as Error).message}`));
    if (server) await stopServer(server);
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

test.run();
