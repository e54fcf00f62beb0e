// The SIMD build is embedded as a delta against the relaxed-SIMD build: the two are compiled from
// one source and differ only where a fused multiply-add becomes a multiply and an add, so the delta
// is a few KiB where the whole build would add ~40 KiB to the gzipped bundle. The build writes the
// delta (makeDelta, run by build.mjs, which checks that applyDelta gives back the exact bytes);
// the runtime rebuilds the module's bytes on first use (applyDelta).
//
// Format: varint target length, then records until the target is full: varint n, n literal bytes,
// varint copy length L, zigzag varint shift s; the copy reads L bytes of the base from the end of
// the previous copy plus s (so a run of in-place copies has s = 0 and costs two bytes).

/** The bytes `delta` describes against `base`. Throws on a delta that does not fit its base. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array<ArrayBuffer> {
  let at = 0;
  const varint = (): number => {
    let v = 0, scale = 1, b: number;
    do {
      if (at >= delta.length) throw new Error('delta: truncated');
      b = delta[at++];
      v += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    return v;
  };
  const out = new Uint8Array(varint());
  let o = 0, from = 0;
  while (o < out.length) {
    const n = varint();
    if (n > out.length - o || n > delta.length - at) throw new Error('delta: literal out of range');
    out.set(delta.subarray(at, at + n), o);
    at += n;
    o += n;
    const len = varint(), z = varint();
    if (n + len === 0 && o < out.length) throw new Error('delta: empty record');
    from += z % 2 ? -(z + 1) / 2 : z / 2;
    if (len > out.length - o || from < 0 || from + len > base.length) throw new Error('delta: copy out of range');
    out.set(base.subarray(from, from + len), o);
    o += len;
    from += len;
  }
  return out;
}

/** A delta from which applyDelta(base, ·) rebuilds `target` (greedy matching of 8-byte seeds). */
export function makeDelta(base: Uint8Array, target: Uint8Array): Uint8Array {
  const SEED = 8;
  const key = (a: Uint8Array, i: number): number => {
    let h = 0;
    for (let k = 0; k < SEED; k++) h = (Math.imul(h, 31) + a[i + k]) | 0;
    return h;
  };
  const seeds = new Map<number, number[]>();
  for (let i = 0; i + SEED <= base.length; i++) {
    const h = key(base, i);
    const list = seeds.get(h);
    if (list) list.push(i);
    else seeds.set(h, [i]);
  }
  const out: number[] = [];
  const varint = (v: number): void => {
    while (v >= 128) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  const matchLength = (b: number, t: number): number => {
    let n = 0;
    while (b + n < base.length && t + n < target.length && base[b + n] === target[t + n]) n++;
    return n;
  };
  varint(target.length);
  let from = 0, literal = 0, t = 0;
  const emit = (len: number, at: number): void => {
    varint(t - literal);
    for (let i = literal; i < t; i++) out.push(target[i]);
    varint(len);
    const s = at - from;
    varint(s < 0 ? -2 * s - 1 : 2 * s);
    from = at + len;
    t += len;
    literal = t;
  };
  while (t < target.length) {
    // Prefer continuing in place (the common case between two builds of one source).
    let best = matchLength(from, t), at = from;
    if (best < SEED && t + SEED <= target.length) {
      for (const b of (seeds.get(key(target, t)) ?? []).slice(0, 64)) {
        const n = matchLength(b, t);
        if (n > best) { best = n; at = b; }
      }
    }
    if (best >= SEED || (best > 0 && t + best === target.length)) emit(best, at);
    else t++;
  }
  if (literal < t) emit(0, from);
  return new Uint8Array(out);
}
