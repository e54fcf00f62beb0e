// A line chart on a canvas, just what the Train view needs: a few series of (x, y) points over a
// fixed x range (epochs), drawn as lines or as dots, a y range that is fixed or follows the data, a
// grid, tick labels and a legend. Redrawing is cheap (a few thousand points) and the page redraws
// at most once per animation frame. Why not a library: see demo/README.md.

export interface Series {
  name: string;
  color: string;
  /** 'line' joins the points; 'faint' is a thin translucent line (raw per-batch values); 'dots' marks them. */
  style: 'line' | 'faint' | 'dots';
  points: Array<[number, number]>;
}

export interface ChartOptions {
  /** y range; a bound left out follows the data. Values outside are clipped to the edge. */
  yMin?: number;
  yMax?: number;
  /** Formats y tick labels (default: two significant digits). */
  format?: (y: number) => string;
}

const PAD = { left: 44, right: 16, top: 22, bottom: 22 };
const FONT = '11px system-ui, sans-serif';

export class LineChart {
  readonly series: Series[] = [];
  /** The x axis runs from 0 to xMax (epochs). */
  xMax = 1;

  constructor(readonly canvas: HTMLCanvasElement, readonly options: ChartOptions = {}) {}

  add(name: string, color: string, style: Series['style']): Series {
    const s: Series = { name, color, style, points: [] };
    this.series.push(s);
    return s;
  }

  clear(): void {
    for (const s of this.series) s.points.length = 0;
  }

  draw(): void {
    const c = this.canvas;
    // Backing store at device resolution, so lines stay sharp on high-DPI screens.
    const dpr = globalThis.devicePixelRatio || 1;
    const w = c.clientWidth || c.width, h = c.clientHeight || c.height;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const ctx = c.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const style = getComputedStyle(c);
    const muted = style.getPropertyValue('--muted').trim() || '#8b949e';
    const line = style.getPropertyValue('--line').trim() || '#2a313c';

    let lo = this.options.yMin ?? Infinity, hi = this.options.yMax ?? -Infinity;
    if (this.options.yMin === undefined || this.options.yMax === undefined) {
      for (const s of this.series) {
        for (const [, y] of s.points) {
          if (this.options.yMin === undefined) lo = Math.min(lo, y);
          if (this.options.yMax === undefined) hi = Math.max(hi, y);
        }
      }
    }
    if (!Number.isFinite(lo)) lo = 0;
    if (!Number.isFinite(hi) || hi <= lo) hi = lo + 1;
    // A bound that follows the data moves to a round tick: four steps of 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k.
    if (this.options.yMax === undefined || this.options.yMin === undefined) {
      const raw = (hi - lo) / 4, p = 10 ** Math.floor(Math.log10(raw));
      const step = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((v) => v >= raw * (1 - 1e-9))!;
      if (this.options.yMin === undefined) lo = Math.floor(lo / step) * step;
      if (this.options.yMax === undefined) hi = lo + 4 * step;
    }
    const x0 = PAD.left, x1 = w - PAD.right, y0 = h - PAD.bottom, y1 = PAD.top;
    const X = (x: number): number => x0 + ((x1 - x0) * x) / this.xMax;
    const Y = (y: number): number => y0 - ((y0 - y1) * (Math.min(hi, Math.max(lo, y)) - lo)) / (hi - lo);

    // Grid and ticks: 4 steps in y, one tick per epoch in x (at most 10 labels).
    ctx.font = FONT;
    ctx.lineWidth = 1;
    ctx.strokeStyle = line;
    ctx.fillStyle = muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const format = this.options.format ?? ((y: number) => y.toPrecision(2));
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4, y = Math.round(Y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x0, y);
      ctx.lineTo(x1, y);
      ctx.stroke();
      ctx.fillText(format(v), x0 - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = Math.max(1, Math.ceil(this.xMax / 10));
    for (let e = 0; e <= this.xMax; e += step) ctx.fillText(String(e), X(e), y0 + 5);
    ctx.textAlign = 'right';
    ctx.fillText('epoch', x0 - 6, y0 + 5);

    ctx.save();
    ctx.beginPath();
    ctx.rect(x0 - 4, y1 - 4, x1 - x0 + 8, y0 - y1 + 8);
    ctx.clip();
    for (const s of this.series) {
      if (!s.points.length) continue;
      ctx.strokeStyle = ctx.fillStyle = s.color;
      if (s.style === 'dots') {
        for (const [x, y] of s.points) {
          ctx.beginPath();
          ctx.arc(X(x), Y(y), 3.5, 0, 2 * Math.PI);
          ctx.fill();
        }
        continue;
      }
      ctx.globalAlpha = s.style === 'faint' ? 0.3 : 1;
      ctx.lineWidth = s.style === 'faint' ? 1 : 1.75;
      ctx.beginPath();
      // More points than pixels: draw one point per pixel column (the last of the column).
      let lastPx = -Infinity;
      s.points.forEach(([x, y], i) => {
        const px = X(x);
        if (i > 0 && px - lastPx < 1 && i < s.points.length - 1) return;
        lastPx = px;
        if (i === 0) ctx.moveTo(px, Y(y));
        else ctx.lineTo(px, Y(y));
      });
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    ctx.restore();

    // Legend, left to right along the top.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = x0;
    for (const s of this.series) {
      ctx.fillStyle = s.color;
      ctx.globalAlpha = s.style === 'faint' ? 0.5 : 1;
      if (s.style === 'dots') {
        ctx.beginPath();
        ctx.arc(lx + 5, 9, 3.5, 0, 2 * Math.PI);
        ctx.fill();
      } else {
        ctx.fillRect(lx, 8, 12, 2);
      }
      ctx.globalAlpha = 1;
      ctx.fillStyle = muted;
      ctx.fillText(s.name, lx + 16, 9);
      lx += 16 + ctx.measureText(s.name).width + 14;
    }
  }
}
