// An AI partner in the emulator worker (docs/policies.md, "Partner seats"): the action of a task's
// `ai:<policy>` seat on every frame of a two-player episode played in one browser.
//
// A scripted policy (policies/index.mjs) reads the RAM here, synchronously, every
// `action_repeat` frames. An ONNX policy runs in its own worker (policy.worker.mjs) on the frame
// stacks observation.mjs builds from the screen, one every `action_repeat` frames, exactly as
// crowdplay.datasets builds them. Inference is asynchronous and the emulator never waits for
// it: the seat plays the latest action the policy worker sent (NOOP until the first), and the
// log records whatever was played. Only the newest observation waits while an inference runs,
// so a slow machine makes the AI react later, never fall behind. The policy worker of a model
// stays loaded from one episode to the next (`policyWorkers`).
import { ObservationStack, SCREEN_HEIGHT, SCREEN_WIDTH, grayscaleFromRGBA } from "./observation.mjs";
import { createScriptedPolicy } from "./policies/index.mjs";

/** @typedef {import("../../wasm/engine").EpisodeEmulator} EpisodeEmulator */
/** @typedef {import("./messages").PartnerSpec} PartnerSpec */
/** @typedef {import("./messages").PartnerStats} PartnerStats */
/** @typedef {import("./policy-messages").PolicyToPage} PolicyToPage */

const NOOP = 0;
const ACTIONS = 18;
/** Inference times kept for the page's figures (the most recent ones). */
const MAX_TIMINGS = 5000;

/**
 * A policy worker per model URL, loaded once and kept for the next episodes: `listener` is the
 * current episode's partner, `lastId` the last act id sent to it.
 * @typedef {{worker: Worker, loadMs: number | null, error: string | null, lastId: number,
 *   listener: ((message: PolicyToPage) => void) | null}} PolicyWorker
 * @type {Map<string, PolicyWorker>}
 */
const policyWorkers = new Map();

/** @param {string} url */
function policyWorker(url) {
  let entry = policyWorkers.get(url);
  if (entry === undefined) {
    const worker = new Worker(new URL("./policy.worker.mjs", import.meta.url), { type: "module" });
    /** @type {PolicyWorker} */
    const made = { worker, loadMs: null, error: null, lastId: 0, listener: null };
    worker.onmessage = (/** @type {MessageEvent<PolicyToPage>} */ e) => {
      if (e.data.type === "loaded") made.loadMs = e.data.ms;
      else if (e.data.type === "error" && e.data.id === undefined) made.error = e.data.message;
      made.listener?.(e.data);
    };
    worker.onerror = (e) => {
      made.error = `the policy worker failed: ${e.message}`;
      made.listener?.({ type: "error", message: made.error });
    };
    worker.postMessage({ type: "load", url });
    policyWorkers.set(url, made);
    entry = made;
  }
  return entry;
}

export class Partner {
  /** @param {PartnerSpec} spec */
  constructor(spec) {
    const { manifest } = spec;
    if (!Number.isInteger(manifest.action_repeat) || manifest.action_repeat < 1) {
      throw new Error(`policy ${manifest.name}: action_repeat must be a positive integer`);
    }
    this.seat = spec.seat;
    this.controller = spec.controller;
    this.repeat = manifest.action_repeat;
    /** The action the seat plays until the policy gives another. */
    this.action = NOOP;
    /** @type {PartnerStats} */
    this.stats = {
      policy: manifest.name, kind: manifest.kind, seat: spec.seat, counts: Array(ACTIONS).fill(0),
      inferences: 0, inferenceMs: [], loadMs: null, error: null,
    };
    /** @type {{act(ram: Uint8Array, frame: number): number} | null} */
    this.script = null;
    /** @type {PolicyWorker | null} */
    this.policy = null;
    /** @type {ObservationStack | null} */
    this.stack = null;
    /** @type {((message: PolicyToPage) => void) | null} */
    this.listener = null;
    if (manifest.kind === "scripted") {
      this.script = createScriptedPolicy(/** @type {string} */ (manifest.script), { player: spec.seat });
      return;
    }
    if (manifest.kind !== "onnx" || typeof spec.modelUrl !== "string") {
      throw new Error(`policy ${manifest.name}: a ${manifest.kind} policy cannot play here (scripted, or onnx with a model_url)`);
    }
    this.stack = new ObservationStack({ stackSize: 4, frameSkip: this.repeat, axisFirst: true });
    this.gray = new Uint8Array(SCREEN_WIDTH * SCREEN_HEIGHT);
    this.busy = false;
    /** @type {Uint8Array | null} the newest observation not sent yet */
    this.waiting = null;
    this.policy = policyWorker(spec.modelUrl);
    this.listener = (/** @type {PolicyToPage} */ message) => this.onPolicy(message);
    this.policy.listener = this.listener;
    /** Answers to acts sent before this episode's first (an earlier episode's) are not ours. */
    this.firstId = this.policy.lastId + 1;
    this.loaded = this.policy.loadMs !== null;
    this.stats.loadMs = this.policy.loadMs;
    this.stats.error = this.policy.error;
  }

  /**
   * The episode starts: an ONNX policy's stack holds the screen after the reset, its first
   * observation.
   * @param {EpisodeEmulator} emu
   */
  start(emu) {
    if (this.stack === null) return;
    this.stack.reset(grayscaleFromRGBA(emu.screenRGBA(), this.gray));
    this.ask(this.stack.observation());
  }

  /**
   * The seat's action on the next frame, `frame` frames into the episode.
   * @param {EpisodeEmulator} emu
   * @param {number} frame
   */
  next(emu, frame) {
    if (this.script !== null && frame % this.repeat === 0) this.action = this.script.act(emu.ram(), frame);
    this.stats.counts[this.action] += 1;
    return this.action;
  }

  /**
   * A frame was emulated: an ONNX policy's stack takes its screen, and a finished step's
   * observation goes to the policy worker.
   * @param {EpisodeEmulator} emu
   */
  played(emu) {
    if (this.stack === null) return;
    if (this.stack.push(grayscaleFromRGBA(emu.screenRGBA(), this.gray))) this.ask(this.stack.observation());
  }

  /** @param {Uint8Array} observation */
  ask(observation) {
    if (!this.loaded || this.busy) {
      this.waiting = observation; // only the newest one is worth an inference
      return;
    }
    const policy = /** @type {PolicyWorker} */ (this.policy);
    this.busy = true;
    policy.lastId += 1;
    policy.worker.postMessage({ type: "act", id: policy.lastId, observation }, [observation.buffer]);
  }

  /** @param {PolicyToPage} message */
  onPolicy(message) {
    if (message.type === "loaded") {
      this.loaded = true;
      this.stats.loadMs = message.ms;
    } else if (message.type === "action") {
      if (message.id < this.firstId) return; // an earlier episode's
      this.busy = false;
      if (Number.isInteger(message.action) && message.action >= 0 && message.action < ACTIONS) this.action = message.action;
      this.stats.inferences += 1;
      if (this.stats.inferenceMs.length >= MAX_TIMINGS) this.stats.inferenceMs.shift();
      this.stats.inferenceMs.push(message.ms);
    } else {
      if (message.id !== undefined && message.id < this.firstId) return;
      this.busy = false;
      this.stats.error = message.message;
      return;
    }
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting !== null) this.ask(waiting);
  }

  /** The frames' controller runs of this seat for a chunk of `frames` frames. */
  runs(/** @type {number} */ frames) {
    return [{ controller: this.controller, frames }];
  }

  /** The episode is over: the policy worker stays loaded for the next one. */
  close() {
    if (this.policy !== null && this.policy.listener === this.listener) this.policy.listener = null;
    this.policy = null;
  }
}
