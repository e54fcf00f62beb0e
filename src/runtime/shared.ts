// The shared-memory builds. Each of the three kernel builds is also compiled by asc with
// `--enable threads --importMemory --sharedMemory --initialMemory 1 --maximumMemory 16384`
// (build.mjs, shipped as dist/wasm/<build>-threads.wasm). The bundle does not embed those: their
// code is byte-identical to the plain builds (build.mjs checks it on every build), only the
// memory differs — an imported shared memory instead of an own one — so the bundle derives them
// from the embedded plain bytes here, at no bundle size. The derived module imports
// `env.memory` (shared, max MAX_SHARED_PAGES) in place of its memory section.

/** Maximum of the shared memory: 16384 pages = 1 GiB (what browsers reserve without complaint). */
export const MAX_SHARED_PAGES = 16384;

interface Section { id: number; start: number; end: number; body: Uint8Array }

function leb(b: Uint8Array, o: number): [number, number] {
  let r = 0, s = 0, x: number;
  do { x = b[o++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
  return [r, o];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do { let x = n & 0x7f; n = Math.floor(n / 128); if (n) x |= 0x80; out.push(x); } while (n);
  return out;
}

function sections(b: Uint8Array): Section[] {
  const out: Section[] = [];
  let o = 8;
  while (o < b.length) {
    const id = b[o];
    const [len, p] = leb(b, o + 1);
    out.push({ id, start: o, end: p + len, body: b.subarray(p, p + len) });
    o = p + len;
  }
  return out;
}

/** The sections of a module (id and body), for build.mjs's check that code sections match. @internal */
export function wasmSections(bytes: Uint8Array): Array<{ id: number; body: Uint8Array }> {
  return sections(bytes).map(({ id, body }) => ({ id, body }));
}

/**
 * The plain build's bytes with its memory section replaced by an import of a shared memory
 * `env.memory` {min of the original, max MAX_SHARED_PAGES}. Returns null if the module is not
 * shaped as expected (already imports something, or has no single own memory).
 */
export function sharedModuleBytes(bytes: Uint8Array, maxPages = MAX_SHARED_PAGES): Uint8Array<ArrayBuffer> | null {
  const secs = sections(bytes);
  if (secs.some((s) => s.id === 2)) return null;
  const mem = secs.find((s) => s.id === 5);
  if (!mem || mem.body[0] !== 1) return null;
  const flags = mem.body[1];
  const [min] = leb(mem.body, 2);
  if (flags !== 0 && flags !== 1) return null;
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const entry = [1, ...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(Math.max(min, 1)), ...uleb(maxPages)];
  const importSection = [2, ...uleb(entry.length), ...entry];
  const parts: number[][] = [];
  const out: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of secs) {
    if (s.id === 5) continue;
    // Known sections are ordered: the import section goes right after the type section (1).
    if (s.id !== 0 && s.id > 2 && !parts.length) { parts.push(importSection); out.push(Uint8Array.from(importSection)); }
    out.push(bytes.subarray(s.start, s.end));
  }
  const total = out.reduce((n, p) => n + p.length, 0);
  const result = new Uint8Array(total);
  let o = 0;
  for (const p of out) { result.set(p, o); o += p.length; }
  return result;
}
