// Training progress: a redrawn bar on a terminal, one line per epoch elsewhere (CI logs, browsers).

export const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Let the event loop run (a browser tab stays responsive during fit). */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate!(r));
  if (typeof MessageChannel !== 'undefined') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); r(); };
      ch.port2.postMessage(0);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}

export class Progress {
  private readonly tty: boolean;
  private epochLabel = '';
  private lastDraw = 0;
  constructor(private readonly batches: number) {
    const p = (globalThis as { process?: { stdout?: { isTTY?: boolean; write?: unknown } } }).process;
    this.tty = !!(p?.stdout?.isTTY && typeof p.stdout.write === 'function');
  }
  /** Epochs count from 0 (as in Keras's logs); the label shows 1-based progress. */
  start(epoch: number, epochs: number): void { this.epochLabel = `epoch ${epoch + 1}/${epochs}`; }
  update(done: number, loss: number, acc: number | undefined, ips: number): void {
    if (!this.tty) return;
    const t = now();
    if (done !== this.batches && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const width = 30, filled = Math.round((done / this.batches) * width);
    const bar = '='.repeat(Math.max(filled - 1, 0)) + (filled ? '>' : '') + ' '.repeat(width - filled);
    write(`\r${this.epochLabel} [${bar}] ${done}/${this.batches}  loss ${loss.toFixed(4)}${acc !== undefined ? `  acc ${acc.toFixed(4)}` : ''}  ${Math.round(ips)} img/s `);
  }
  end(l: { loss: number; accuracy?: number; valLoss?: number; valAccuracy?: number; seconds: number; imagesPerSecond: number }): void {
    const acc = l.accuracy !== undefined ? `  acc ${l.accuracy.toFixed(4)}` : '';
    const val = (l.valLoss !== undefined ? `  val_loss ${l.valLoss.toFixed(4)}` : '') + (l.valAccuracy !== undefined ? `  val_acc ${l.valAccuracy.toFixed(4)}` : '');
    const line = `${this.epochLabel}  loss ${l.loss.toFixed(4)}${acc}${val}  ${l.seconds.toFixed(1)} s  ${Math.round(l.imagesPerSecond)} img/s`;
    if (this.tty) write(`\r${line}${' '.repeat(20)}\n`);
    else console.log(line);
  }
}

function write(s: string): void {
  (globalThis as unknown as { process: { stdout: { write(s: string): void } } }).process.stdout.write(s);
}
