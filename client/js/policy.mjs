// An AI policy in the browser (docs/policies.md): an ONNX file run by onnxruntime-web's
// WebAssembly backend (pinned in client/vendor/package.json, installed by `./just client-vendor`).
// The model takes one 4x84x84 uint8 frame stack and gives one logit per action; the action is the
// argmax. Usable from any worker or page; policy.worker.mjs runs it in its own worker.
//
// Single-threaded: the pages are not cross-origin isolated (no COOP/COEP headers), so there is no
// SharedArrayBuffer for WebAssembly threads; one thread is asked for explicitly, so onnxruntime
// never tries to start worker threads.
import * as ort from "../vendor/onnxruntime-web/ort.wasm.bundle.min.mjs";

/** @typedef {import("./policy-messages").PolicyStep} PolicyStep */

/** The observation's shape: batch 1, 4 stacked frames (oldest first), 84x84 grayscale. */
export const OBSERVATION_SHAPE = Object.freeze([1, 4, 84, 84]);
const OBSERVATION_SIZE = 4 * 84 * 84;

export class Policy {
  /**
   * @param {ort.InferenceSession} session
   * @param {number} modelBytes
   */
  constructor(session, modelBytes) {
    this.session = session;
    this.input = session.inputNames[0];
    this.output = session.outputNames[0];
    /** The model file's size in bytes, as fetched. */
    this.modelBytes = modelBytes;
  }

  /**
   * Fetch the ONNX file at `url` and start a session on it; rejects, naming what is wrong, when
   * the model does not take one uint8 [1, 4, 84, 84] input and give one output.
   * @param {string | URL} url
   * @returns {Promise<Policy>}
   */
  static async load(url) {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`policy ${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    const [input] = session.inputMetadata;
    const shape = input?.isTensor ? input.shape.join("x") : "";
    if (
      session.inputNames.length !== 1 ||
      session.outputNames.length !== 1 ||
      !input.isTensor ||
      input.type !== "uint8" ||
      shape !== OBSERVATION_SHAPE.join("x")
    ) {
      await session.release();
      throw new Error(
        `policy ${url}: needs one uint8 input of shape ${OBSERVATION_SHAPE.join("x")} and one ` +
          `output; it has inputs ${session.inputNames} (${input?.isTensor ? input.type : "?"} ` +
          `${shape}) and outputs ${session.outputNames}`,
      );
    }
    return new Policy(session, bytes.length);
  }

  /**
   * The action for one observation, its logits and how long inference took.
   * @param {Uint8Array} observation 4*84*84 bytes, frames in order oldest first, row-major
   * @returns {Promise<PolicyStep>}
   */
  async act(observation) {
    if (!(observation instanceof Uint8Array) || observation.length !== OBSERVATION_SIZE) {
      throw new Error(`an observation is a Uint8Array of ${OBSERVATION_SIZE} bytes`);
    }
    const start = performance.now();
    const feeds = { [this.input]: new ort.Tensor("uint8", observation, [...OBSERVATION_SHAPE]) };
    const results = await this.session.run(feeds);
    const logits = /** @type {Float32Array} */ (results[this.output].data);
    const ms = performance.now() - start;
    return { action: argmax(logits), logits: Array.from(logits), ms };
  }

  /** Free the session's WebAssembly memory. */
  async release() {
    await this.session.release();
  }
}

/**
 * The index of the largest value (the first of equal ones, as numpy's argmax).
 * @param {ArrayLike<number>} values
 */
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
