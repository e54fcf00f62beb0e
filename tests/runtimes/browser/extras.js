// Browser-only checks shared by the Firefox page (and usable from any page): fromPixels on every
// browser image kind (ImageData, HTMLCanvasElement, OffscreenCanvas, ImageBitmap, a decoded
// HTMLImageElement) against the same pixels as plain ImageData, and a LeNet-5 saved to IndexedDB
// with writeArtifacts, read back with readArtifacts and loaded: the same logits. Plain ESM; the
// caller passes the library's namespace and the smoke module. Returns a JSON-serialisable report.

export async function runBrowserExtras(lib, smoke) {
  const out = { ok: false, errors: [] };
  const baseline = lib.memoryStats().tensors;
  try {
    out.fromPixels = await fromPixelsKinds(lib);
    if (!out.fromPixels.ok) out.errors.push(`fromPixels: ${JSON.stringify(out.fromPixels)}`);
  } catch (e) {
    out.errors.push(`fromPixels: ${e?.stack ?? e}`);
  }
  try {
    out.indexeddb = await indexedDbRoundTrip(lib, smoke);
    if (!out.indexeddb.ok) out.errors.push(`indexeddb: ${JSON.stringify(out.indexeddb)}`);
  } catch (e) {
    out.errors.push(`indexeddb: ${e?.stack ?? e}`);
  }
  out.leakedTensors = lib.memoryStats().tensors - baseline;
  if (out.leakedTensors) out.errors.push(`${out.leakedTensors} tensors leaked`);
  out.ok = out.errors.length === 0;
  return out;
}

async function fromPixelsKinds(lib) {
  const W = 7, H = 5;
  // Opaque pixels (alpha 255): canvases store premultiplied colour, so only opaque ones round-trip exactly.
  const data = new Uint8ClampedArray(W * H * 4);
  for (let p = 0; p < W * H; p++) data.set([(p * 37) % 256, (p * 91 + 7) % 256, (p * 13 + 100) % 256, 255], p * 4);
  const imageData = new ImageData(data, W, H);
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  canvas.getContext('2d').putImageData(imageData, 0, 0);
  const offscreen = new OffscreenCanvas(W, H);
  offscreen.getContext('2d').putImageData(imageData, 0, 0);
  const bitmap = await createImageBitmap(imageData);
  const img = new Image();
  img.src = canvas.toDataURL('image/png'); // PNG: lossless
  await img.decode();
  const options = { size: [3, 4], resize: 'bilinear', channels: 3 };
  const read = (source) => {
    const t = lib.fromPixels(source, options);
    const a = Array.from(t.toArray());
    t.dispose();
    return a;
  };
  const want = read(imageData);
  const kinds = {};
  let ok = true;
  for (const [name, source] of [['HTMLCanvasElement', canvas], ['OffscreenCanvas', offscreen], ['ImageBitmap', bitmap], ['HTMLImageElement', img]]) {
    const got = read(source);
    const maxDiff = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
    kinds[name] = maxDiff;
    if (!(maxDiff === 0)) ok = false;
  }
  bitmap.close();
  let unloaded = 'no error';
  try { lib.fromPixels(new Image()); } catch (e) { unloaded = `${e.name}: ${e.message}`; }
  if (!/^ArgumentError: fromPixels/.test(unloaded)) ok = false;
  return { ok, maxDiffByKind: kinds, unloadedImage: unloaded };
}

async function indexedDbRoundTrip(lib, smoke) {
  const name = `smoke-lenet-${Date.now()}`;
  const model = smoke.buildLenet(lib);
  let loaded = null;
  try {
    const saved = model.save();
    await lib.writeArtifacts(`indexeddb://${name}`, { modelJson: saved.topology, weights: saved.weights });
    const { modelJson, weights } = await lib.readArtifacts(`indexeddb://${name}`);
    loaded = lib.loadModel({ topology: modelJson, weights });
    const a = smoke.lenetPredict(lib, model), b = smoke.lenetPredict(lib, loaded);
    const same = JSON.stringify(a.logits) === JSON.stringify(b.logits);
    let missing = 'no error';
    try { await lib.readArtifacts('indexeddb://no-such-model'); } catch (e) { missing = `${e.name}: ${e.message}`; }
    return { ok: same && weights.byteLength === saved.weights.byteLength && /^NotFoundError/.test(missing), same, weightsBytes: weights.byteLength, missing };
  } finally {
    model.dispose();
    loaded?.dispose();
  }
}
