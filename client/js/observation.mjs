// The DeepMind-preprocessed observation of a game, built in the browser as
// crowdplay.datasets.preprocessing builds it in Python, byte for byte, for a policy that plays
// beside (or instead of) the participant. No DOM, no network: the emulator worker or Node feed it.
//
// The pipeline, and what each step reproduces:
//   1. grayscale: the WebAssembly build exposes the screen as RGBA (wasm/engine.mjs screenRGBA());
//      `grayscaleFromRGBA` turns it into ALE's grayscale (ale-py's getScreenGrayscale). ALE reads
//      gray from the odd entries of its palette tables (ColourPalette::applyPaletteGrayscale);
//      every one of them — NTSC, PAL and SECAM, standard and z26, in ALE 0.12.1's Palettes.hpp —
//      is round(0.2989 r + 0.5870 g + 0.1140 b) of its colour (in double, halves away from zero,
//      ALE's convertGrayscale for user palettes), so the formula on RGB is the table lookup.
//   2. pooling: the maximum of a step's last two screens (its only screen when a step is one frame).
//   3. resize: 210x160 -> 84x84 with OpenCV's cv::resize(INTER_AREA) for uint8 (`downsample`).
//      The scale (160/84, 210/84) is not an integer, so OpenCV takes its general area path
//      (resize.cpp: computeResizeAreaTab, ResizeArea_Invoker<uchar, float>): per axis a table of
//      (source pixel, float weight) pairs covering each destination pixel's cell; each source row
//      is summed into a float row buffer with the x weights, rows are summed with the y weights, in
//      float32, in OpenCV's order; the sum is stored with saturate_cast<uchar> (cvRound: half to
//      even). Math.fround after every operation (Float32Array stores) is float32 arithmetic: the
//      product of a byte and a float32 is exact in double, and a float32 sum rounded through
//      double is correctly rounded.
//   4. stacking: the last `stackSize` pooled frames, oldest first, padded at the episode's start
//      with the reset screen (resized, not pooled), as processed_trajectory pads with its frame 0.
//
// tests/wasm/test_observation.py compares this with crowdplay.datasets on real replays.

/** ALE's screen, in pixels. */
export const SCREEN_WIDTH = 160;
export const SCREEN_HEIGHT = 210;
/** Side of the square observations (crowdplay.datasets.SCREEN_SIZE). */
export const SIZE = 84;

const SCREEN_PIXELS = SCREEN_WIDTH * SCREEN_HEIGHT;
const FRAME_PIXELS = SIZE * SIZE;

/**
 * ALE's grayscale screen from the emulator's RGBA screen.
 *
 * @param {Uint8Array} rgba width*height*4 bytes (alpha ignored), as screenRGBA() returns them
 * @param {Uint8Array} [out] where to write width*height bytes; a new array when omitted
 * @returns {Uint8Array} the grayscale screen (`out` when given)
 */
export function grayscaleFromRGBA(rgba, out) {
  if (!(rgba instanceof Uint8Array) || rgba.length % 4 !== 0) {
    throw new TypeError(`grayscaleFromRGBA expects a Uint8Array of RGBA bytes, got ${describe(rgba)}`);
  }
  const pixels = rgba.length / 4;
  const gray = out ?? new Uint8Array(pixels);
  if (!(gray instanceof Uint8Array) || gray.length !== pixels) {
    throw new TypeError(`grayscaleFromRGBA: out must be a Uint8Array of ${pixels} bytes, got ${describe(gray)}`);
  }
  for (let i = 0, j = 0; i < pixels; i++, j += 4) {
    // Math.round rounds halves up, as C's round() does for these non-negative values.
    gray[i] = Math.round(rgba[j] * 0.2989 + rgba[j + 1] * 0.587 + rgba[j + 2] * 0.114);
  }
  return gray;
}

/**
 * One axis of OpenCV's area resize: computeResizeAreaTab's (source index, destination index,
 * float32 weight) entries, in its order. `scale` is computed as cv::resize does (1 / (d / s)).
 */
function areaTable(source, destination) {
  const scale = 1 / (destination / source);
  const from = [];
  const to = [];
  const weight = [];
  const add = (s, d, w) => {
    from.push(s);
    to.push(d);
    weight.push(Math.fround(w));
  };
  for (let d = 0; d < destination; d++) {
    const start = d * scale;
    const end = start + scale;
    const cell = Math.min(scale, source - start);
    let first = Math.ceil(start);
    const last = Math.min(Math.floor(end), source - 1);
    first = Math.min(first, last);
    if (first - start > 1e-3) add(first - 1, d, (first - start) / cell);
    for (let s = first; s < last; s++) add(s, d, 1 / cell);
    if (end - last > 1e-3) add(last, d, Math.min(Math.min(end - last, 1), cell) / cell);
  }
  return { from: Int32Array.from(from), to: Int32Array.from(to), weight: Float32Array.from(weight) };
}

const X_TABLE = areaTable(SCREEN_WIDTH, SIZE);
const Y_TABLE = areaTable(SCREEN_HEIGHT, SIZE);

/** cvRound of a non-negative float, saturated to a byte: nearest integer, halves to even. */
function roundToByte(value) {
  let r = Math.floor(value);
  const fraction = value - r;
  if (fraction > 0.5 || (fraction === 0.5 && r % 2 === 1)) r += 1;
  return r > 255 ? 255 : r;
}

/**
 * A 210x160 grayscale screen resized to 84x84 exactly as cv2.resize(screen, (84, 84),
 * interpolation=cv2.INTER_AREA) does.
 *
 * @param {Uint8Array} screen 210*160 bytes, row-major
 * @param {Uint8Array} [out] where to write 84*84 bytes; a new array when omitted
 * @returns {Uint8Array} the resized frame (`out` when given)
 */
export function downsample(screen, out) {
  requireScreen(screen, "downsample");
  const frame = out ?? new Uint8Array(FRAME_PIXELS);
  if (!(frame instanceof Uint8Array) || frame.length !== FRAME_PIXELS) {
    throw new TypeError(`downsample: out must be a Uint8Array of ${FRAME_PIXELS} bytes, got ${describe(frame)}`);
  }
  const row = new Float32Array(SIZE); // one source row, resized along x (OpenCV's buf)
  const sum = new Float32Array(SIZE); // the destination row being accumulated (OpenCV's sum)
  const { from: xFrom, to: xTo, weight: xWeight } = X_TABLE;
  const { from: yFrom, to: yTo, weight: yWeight } = Y_TABLE;
  let current = yTo[0];
  for (let j = 0; j < yFrom.length; j++) {
    const beta = yWeight[j];
    const offset = yFrom[j] * SCREEN_WIDTH;
    row.fill(0);
    for (let k = 0; k < xFrom.length; k++) row[xTo[k]] += Math.fround(screen[offset + xFrom[k]] * xWeight[k]);
    if (yTo[j] !== current) {
      for (let x = 0; x < SIZE; x++) {
        frame[current * SIZE + x] = roundToByte(sum[x]);
        sum[x] = beta * row[x];
      }
      current = yTo[j];
    } else {
      for (let x = 0; x < SIZE; x++) sum[x] += Math.fround(beta * row[x]);
    }
  }
  for (let x = 0; x < SIZE; x++) frame[current * SIZE + x] = roundToByte(sum[x]);
  return frame;
}

/**
 * The observations of one episode, one per step of `frameSkip` frames: `reset` with the screen
 * after the reset, then `push` the screen after every frame played; `observation()` is the
 * observation in which the next step's action is taken.
 *
 * Equal to crowdplay.datasets' processed trajectory with the same options
 * (Preprocessing(stack_n=stackSize, downsample_frequency=frameSkip,
 * framestack_axis_first=axisFirst), downsample_offset 0): observation 0 is the reset screen,
 * resized, `stackSize` times; after step i (frames frameSkip*i+1 .. frameSkip*(i+1)) the pooled
 * maximum of its last two screens, resized, is the newest frame of the stack.
 *
 * @example
 *   const stack = new ObservationStack();
 *   stack.reset(grayscaleFromRGBA(emu.screenRGBA()));
 *   let input = stack.observation(); // 84*84*4 bytes, (84, 84, 4) as in crowdplay.datasets
 *   // after each frame: if (stack.push(grayscaleFromRGBA(emu.screenRGBA()))) input = stack.observation();
 */
export class ObservationStack {
  /**
   * @param {{stackSize?: number, frameSkip?: number, axisFirst?: boolean}} [options]
   *   stackSize: frames per observation (4); frameSkip: frames per step (4); axisFirst: the
   *   (stackSize, 84, 84) layout instead of (84, 84, stackSize) (framestack_axis_first).
   */
  constructor({ stackSize = 4, frameSkip = 4, axisFirst = false } = {}) {
    for (const [name, value] of [["stackSize", stackSize], ["frameSkip", frameSkip]]) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`ObservationStack: ${name} must be a positive integer, got ${describe(value)}`);
      }
    }
    if (typeof axisFirst !== "boolean") {
      throw new TypeError(`ObservationStack: axisFirst must be true or false, got ${describe(axisFirst)}`);
    }
    this.stackSize = stackSize;
    this.frameSkip = frameSkip;
    this.axisFirst = axisFirst;
    /** The last `stackSize` resized frames, a ring: `newest` is the latest one's slot. */
    this.frames = new Uint8Array(stackSize * FRAME_PIXELS);
    this.newest = 0;
    this.previous = new Uint8Array(SCREEN_PIXELS);
    this.pooled = new Uint8Array(SCREEN_PIXELS);
    /** Frames pushed since the reset; null before the first reset. */
    this.played = null;
  }

  /** Starts an episode from the screen after the reset: every slot of the stack holds it. */
  reset(screen) {
    requireScreen(screen, "ObservationStack.reset");
    const frame = downsample(screen);
    for (let slot = 0; slot < this.stackSize; slot++) this.frames.set(frame, slot * FRAME_PIXELS);
    this.newest = this.stackSize - 1;
    this.previous.set(screen);
    this.played = 0;
  }

  /**
   * The screen after the next frame. Returns true when that frame ends a step: the stack then
   * holds the step's pooled frame and observation() is the next step's observation.
   */
  push(screen) {
    requireScreen(screen, "ObservationStack.push");
    if (this.played === null) throw new Error("ObservationStack.push before reset: reset with the first screen");
    this.played += 1;
    const ends = this.played % this.frameSkip === 0;
    if (ends) {
      let pooled = screen;
      if (this.frameSkip > 1) {
        pooled = this.pooled;
        for (let i = 0; i < SCREEN_PIXELS; i++) pooled[i] = Math.max(this.previous[i], screen[i]);
      }
      this.newest = (this.newest + 1) % this.stackSize;
      downsample(pooled, this.frames.subarray(this.newest * FRAME_PIXELS, (this.newest + 1) * FRAME_PIXELS));
    }
    this.previous.set(screen);
    return ends;
  }

  /**
   * The current observation, oldest frame first: stackSize*84*84 bytes laid out as
   * (84, 84, stackSize), or (stackSize, 84, 84) with axisFirst. A new array on every call.
   */
  observation() {
    if (this.played === null) throw new Error("ObservationStack.observation before reset: reset with the first screen");
    const n = this.stackSize;
    const out = new Uint8Array(n * FRAME_PIXELS);
    for (let age = 0; age < n; age++) {
      const slot = (this.newest + 1 + age) % n; // age 0 is the oldest frame
      const frame = this.frames.subarray(slot * FRAME_PIXELS, (slot + 1) * FRAME_PIXELS);
      if (this.axisFirst) {
        out.set(frame, age * FRAME_PIXELS);
      } else {
        for (let p = 0; p < FRAME_PIXELS; p++) out[p * n + age] = frame[p];
      }
    }
    return out;
  }
}

function requireScreen(screen, where) {
  if (!(screen instanceof Uint8Array) || screen.length !== SCREEN_PIXELS) {
    throw new TypeError(
      `${where} expects a grayscale screen, a Uint8Array of ${SCREEN_HEIGHT}*${SCREEN_WIDTH} = ${SCREEN_PIXELS} bytes, got ${describe(screen)}`,
    );
  }
}

function describe(value) {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.length} elements`;
  return JSON.stringify(value) ?? String(value);
}
