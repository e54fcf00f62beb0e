// The Train view: the controls, the worker that trains (dist/train-worker.js, built from
// train-worker.ts), the progress bar and the two charts. The main thread only handles messages and
// redraws (at most once per animation frame), so the page stays responsive while the worker trains.
import type { BatchLogs, EpochLogs, SavedModel } from '../src/index.ts';
import { LineChart, type Series } from './chart.ts';
import { MODELS, isModelKey, type ModelKey } from './models.ts';
import type { FromWorker, TrainRequest } from './train-worker.ts';

export interface TrainResult {
  model: ModelKey;
  label: string;
  saved: SavedModel;
  stopped: boolean;
  valAccuracy: number;
  valLoss: number;
  seconds: number;
  /** Training images per second over the whole run (validation excluded). */
  imagesPerSecond: number;
  epochs: EpochLogs[];
  trainImages: number;
}

export type TrainState = 'idle' | 'loading' | 'running' | 'stopping' | 'done' | 'error';

/** What the page exposes for the test (window.demo.training). */
export interface TrainingInfo {
  state: TrainState;
  /** Batch messages handled by the page so far in this run. */
  batches: number;
  epochs: EpochLogs[];
  result: Omit<TrainResult, 'saved'> | null;
  error: string | null;
}

/** Weight of the past in the smoothed per-batch curves (an exponential moving average). */
const SMOOTH = 0.95;
const COLORS = { train: '#f0883e', val: '#58a6ff' };

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
};

export function setupTrainView(onTrained: (r: TrainResult) => void | Promise<void>): TrainingInfo {
  const view = $('train-view');
  const info: TrainingInfo = { state: 'idle', batches: 0, epochs: [], result: null, error: null };
  const trainButton = $<HTMLButtonElement>('train');
  const stopButton = $<HTMLButtonElement>('stop');
  const bar = $<HTMLProgressElement>('train-progress');
  const status = $('train-status');
  const stat = (id: string, text: string): void => { $(id).textContent = text; };

  // The model menu, from models.ts.
  const choices = $('model-choices');
  for (const [key, m] of Object.entries(MODELS)) {
    const label = document.createElement('label');
    label.className = 'choice';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'model';
    radio.value = key;
    radio.checked = key === 'lenet5';
    const text = document.createElement('span');
    text.innerHTML = '<b></b><small></small>';
    text.querySelector('b')!.textContent = m.label;
    text.querySelector('small')!.textContent = m.about;
    label.append(radio, text);
    choices.append(label);
  }

  const lossChart = new LineChart($<HTMLCanvasElement>('loss-chart'), { yMin: 0, format: (y) => y.toFixed(2) });
  const accChart = new LineChart($<HTMLCanvasElement>('acc-chart'), { yMin: 0.8, yMax: 1, format: (y) => `${Math.round(y * 100)}%` });
  const s = {
    lossBatch: lossChart.add('batch', COLORS.train, 'faint'),
    lossSmooth: lossChart.add('smoothed', COLORS.train, 'line'),
    lossEpoch: lossChart.add('epoch mean', COLORS.train, 'dots'),
    valLoss: lossChart.add('validation', COLORS.val, 'dots'),
    accBatch: accChart.add('batch', COLORS.train, 'faint'),
    accSmooth: accChart.add('smoothed', COLORS.train, 'line'),
    accEpoch: accChart.add('epoch mean', COLORS.train, 'dots'),
    valAcc: accChart.add('validation', COLORS.val, 'dots'),
  } satisfies Record<string, Series>;
  let pending = false;
  const redraw = (): void => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      lossChart.draw();
      accChart.draw();
    });
  };
  redraw();
  new ResizeObserver(redraw).observe($('charts'));

  const setState = (state: TrainState): void => {
    info.state = state;
    view.dataset.state = state;
    const busy = state === 'loading' || state === 'running' || state === 'stopping';
    trainButton.disabled = busy;
    stopButton.disabled = !busy || state === 'stopping';
    view.querySelectorAll<HTMLInputElement | HTMLSelectElement>('.setup input, .setup select').forEach((el) => { el.disabled = busy; });
  };
  setState('idle');

  let worker: Worker | null = null;
  let request: TrainRequest | null = null;
  let t0 = 0, lastIps = 0, lastX = 0, ema = { loss: NaN, acc: NaN };

  const readRequest = (): TrainRequest => {
    const key = view.querySelector<HTMLInputElement>('input[name=model]:checked')?.value;
    const num = (id: string, lo: number, hi: number, integer: boolean): number => {
      const el = $<HTMLInputElement>(id);
      const v = Number(el.value);
      if (!Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
        throw new Error(`${el.labels?.[0]?.textContent?.trim() ?? id}: ${integer ? 'a whole number' : 'a number'} from ${lo} to ${hi}, please`);
      }
      return v;
    };
    return {
      type: 'train',
      model: isModelKey(key) ? key : 'lenet5',
      trainImages: num('train-images', 1, 60000, true),
      batchSize: num('batch-size', 1, 4096, true),
      epochs: num('epochs', 1, 100, true),
      learningRate: num('learning-rate', 1e-6, 1, false),
      seed: 1,
    };
  };

  const handle = async (m: FromWorker): Promise<void> => {
    switch (m.type) {
      case 'status':
        status.textContent = m.text;
        return;
      case 'start':
        if (info.state !== 'stopping') setState('running');
        t0 = performance.now();
        status.textContent = `Training ${MODELS[request!.model].label} (${m.params.toLocaleString('en-US')} parameters) on ${m.trainImages.toLocaleString('en-US')} digits, `
          + `validating on ${m.valImages.toLocaleString('en-US')} · wasm build: ${m.backend}`;
        return;
      case 'batch': {
        const l: BatchLogs = m.logs;
        info.batches++;
        const x = l.epoch + (l.batch + 1) / l.batches;
        lastX = x;
        const acc = l.accuracy ?? NaN;
        ema = Number.isNaN(ema.loss) ? { loss: l.loss, acc } : { loss: SMOOTH * ema.loss + (1 - SMOOTH) * l.loss, acc: SMOOTH * ema.acc + (1 - SMOOTH) * acc };
        s.lossBatch.points.push([x, l.loss]);
        s.lossSmooth.points.push([x, ema.loss]);
        s.accBatch.points.push([x, acc]);
        s.accSmooth.points.push([x, ema.acc]);
        bar.value = x / request!.epochs;
        lastIps = m.imagesPerSecond;
        stat('stat-epoch', `${l.epoch + 1}/${request!.epochs}`);
        stat('stat-batch', `${l.batch + 1}/${l.batches}`);
        stat('stat-ips', Math.round(m.imagesPerSecond).toLocaleString('en-US'));
        stat('stat-loss', ema.loss.toFixed(3));
        stat('stat-acc', `${(ema.acc * 100).toFixed(1)}%`);
        stat('stat-time', `${((performance.now() - t0) / 1000).toFixed(1)} s`);
        redraw();
        return;
      }
      case 'epoch': {
        const l = m.logs;
        info.epochs.push(l);
        // At the last batch seen: the epoch's end, or where Stop cut it short.
        s.lossEpoch.points.push([lastX, l.loss]);
        s.accEpoch.points.push([lastX, l.accuracy ?? NaN]);
        if (l.valLoss !== undefined) s.valLoss.points.push([lastX, l.valLoss]);
        if (l.valAccuracy !== undefined) {
          s.valAcc.points.push([lastX, l.valAccuracy]);
          stat('stat-val', `${(l.valAccuracy * 100).toFixed(2)}%`);
        }
        redraw();
        return;
      }
      case 'done': {
        const r = request!;
        const trained = info.epochs.reduce((n, e) => n + e.seconds, 0);
        const result: TrainResult = {
          model: r.model, label: MODELS[r.model].label, saved: m.saved, stopped: m.stopped,
          valAccuracy: m.valAccuracy, valLoss: m.valLoss, seconds: m.seconds,
          imagesPerSecond: info.epochs.length ? info.epochs.reduce((n, e) => n + e.imagesPerSecond * e.seconds, 0) / trained : lastIps,
          epochs: info.epochs.slice(), trainImages: r.trainImages,
        };
        stat('stat-val', `${(m.valAccuracy * 100).toFixed(2)}%`);
        status.textContent = `${m.stopped ? 'Stopped' : 'Done'}: ${(m.valAccuracy * 100).toFixed(2)}% of the 10,000 test digits right after `
          + `${m.seconds.toFixed(1)} s. The Draw view now uses this model.`;
        const { saved: _, ...rest } = result;
        info.result = rest;
        await onTrained(result);
        setState('done');
        return;
      }
      case 'error':
        info.error = m.message;
        status.textContent = `Training failed: ${m.message}`;
        setState('error');
        return;
    }
  };

  trainButton.addEventListener('click', () => {
    try {
      request = readRequest();
    } catch (e) {
      status.textContent = (e as Error).message;
      return;
    }
    if (!worker) {
      worker = new Worker('dist/train-worker.js', { type: 'module' });
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        handle(e.data).catch((err: unknown) => {
          info.error = String(err);
          status.textContent = `Training failed: ${(err as Error).message ?? err}`;
          setState('error');
        });
      };
      worker.onerror = (e) => {
        info.error = e.message;
        status.textContent = `The worker failed: ${e.message}`;
        setState('error');
      };
    }
    for (const series of Object.values(s)) series.points.length = 0;
    lossChart.xMax = accChart.xMax = request.epochs;
    ema = { loss: NaN, acc: NaN };
    Object.assign(info, { batches: 0, epochs: [], result: null, error: null });
    bar.value = 0;
    for (const id of ['stat-epoch', 'stat-batch', 'stat-ips', 'stat-loss', 'stat-acc', 'stat-val', 'stat-time']) stat(id, '–');
    status.textContent = 'Starting the worker…';
    setState('loading');
    redraw();
    worker.postMessage(request);
  });

  stopButton.addEventListener('click', () => {
    if (!worker) return;
    worker.postMessage({ type: 'stop' });
    status.textContent = 'Stopping after this batch…';
    setState('stopping');
  });

  return info;
}
