// Typed errors. Every message names the op, the argument and the shapes involved, so a user can
// tell from the message alone what to fix: `conv2d: input has 3 channels but weights expect 4 (w [3,3,4,8])`.

/** Base class of every error simdcnn throws on purpose. */
export class SimdcnnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (rank, channels, sizes, output size below 1). */
export class ShapeError extends SimdcnnError {}

/** An option or argument with a bad value or type (negative stride, unknown padding mode, ...). */
export class ArgumentError extends SimdcnnError {}

/** A tensor of the wrong dtype (e.g. int32 labels where float32 data is needed). */
export class DTypeError extends SimdcnnError {}

/** Use of a tensor after `dispose()` (directly or by the `tidy` that owned it). */
export class DisposedError extends SimdcnnError {}

/** Linear memory could not grow; earlier tensors stay intact. `op` names the op that asked. */
export class OutOfMemoryError extends SimdcnnError {
  constructor(readonly requestedBytes: number, readonly inUseBytes: number, detail = '', readonly op = '') {
    super(`${op ? `${op}: ` : ''}out of wasm memory: requested ${requestedBytes} bytes with ${inUseBytes} bytes in use${detail}`);
  }
}

/**
 * A model file or data file that is not what it claims (truncated, corrupted, a field out of range,
 * a feature of the format we do not read). The message names the file kind, the field path and,
 * for binary formats, the byte offset: `onnx: graph.node[3].attribute[0].t.dims[1]: ... at byte 1234`.
 */
export class FormatError extends SimdcnnError {}

/** An op called before `await init()` finished, or init given something it cannot load. */
export class InitError extends SimdcnnError {}

/** `[3,3,4,8]`: how shapes appear in messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A model file, IndexedDB record or URL that does not exist (or could not be reached). */
export class NotFoundError extends SimdcnnError {}
