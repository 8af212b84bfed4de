// The replay viewer's emulation (docs/console.md, "Replay viewer"): an episode log replayed through
// the WebAssembly emulator (wasm/engine.mjs), with a saved state every SNAPSHOT_EVERY frames so
// that any frame can be reached again quickly, and every checkpoint of the log compared with the
// replay. No DOM here: the page (viewer.mjs) draws what a Cursor shows.
//
// Frame numbers are the log's: frame 0 is the state after reset_game(), frame f the state after
// the f-th act (actions[p][f - 1]); a checkpoint at frame f is taken after that act.
import { Action } from "../keyboard.mjs";

/** Frames between two saved states (5 s of play). */
export const SNAPSHOT_EVERY = 300;

/** ALE action names by id (0..17). */
export const ACTION_NAMES = Object.freeze(
  /** @type {string[]} */ (Object.entries(Action).sort((a, b) => a[1] - b[1]).map(([name]) => name)),
);

/**
 * The keys a participant holds for an action (arrows or WASD, Space fires): "↑ → Space".
 * @param {number} action an ALE action id
 */
export function keysFor(action) {
  const name = ACTION_NAMES[action] ?? "";
  const keys = [];
  if (name.includes("UP")) keys.push("↑");
  if (name.includes("DOWN")) keys.push("↓");
  if (name.includes("LEFT")) keys.push("←");
  if (name.includes("RIGHT")) keys.push("→");
  if (name.includes("FIRE")) keys.push("Space");
  return keys.length ? keys.join(" ") : "no key";
}

/**
 * @typedef {{frame: number, digest: string, rewards: number[]}} Checkpoint
 * @typedef {{frame: number, expected: Checkpoint, digest: string, rewards: number[],
 *            match: boolean}} CheckpointResult what the replay found at a checkpoint
 * @typedef {{state: Uint8Array, rewards: number[], next: number[]}} Snapshot the state before a
 *   frame's act, the rewards through that frame, and the rewards of the act after it
 */

/**
 * One episode's log and what its replay has found so far, shared by every Cursor over it: the
 * saved states and the checkpoint comparisons (both the same whichever cursor computed them,
 * since a replay is deterministic).
 */
export class Replay {
  /** @param {any} log a "crowdplay.episode/1" log (canonical JSON, parsed) */
  constructor(log) {
    if (log?.format !== "crowdplay.episode/1") throw new Error(`not an episode log of a known format: ${log?.format}`);
    this.log = log;
    /** @type {1 | 2} */
    this.players = log.env.players;
    /** @type {number[][]} */
    this.actions = log.actions;
    /** Frames in the log. */
    this.frames = log.actions[0].length;
    /** @type {Map<number, Checkpoint>} */
    this.checkpoints = new Map(log.checkpoints.map((/** @type {Checkpoint} */ c) => [c.frame, c]));
    /** @type {Map<number, CheckpointResult>} */
    this.results = new Map();
    /** @type {Map<number, Snapshot>} */
    this.snapshots = new Map();
  }

  /** The first checkpoint the replay contradicts, or null (so far). */
  firstMismatch() {
    let first = null;
    for (const r of this.results.values()) if (!r.match && (first === null || r.frame < first.frame)) first = r;
    return first;
  }

  /** The saved frame at or before `frame` nearest to it. @param {number} frame */
  snapshotAtOrBefore(frame) {
    let best = 0; // frame 0 is saved by the first advance() of every cursor
    for (const f of this.snapshots.keys()) if (f <= frame && f > best) best = f;
    return best;
  }

  /**
   * The actions of frame `frame` (the act that led to it), one per player; null for frame 0.
   * @param {number} frame
   */
  actionsOf(frame) {
    return frame < 1 || frame > this.frames ? null : this.actions.map((a) => a[frame - 1]);
  }
}

/** A position in a Replay with an emulator at that frame. */
export class Cursor {
  /**
   * @param {Replay} replay
   * @param {import("../../wasm/engine").EpisodeEmulator} emulator freshly created for the log's env and seed
   */
  constructor(replay, emulator) {
    this.replay = replay;
    this.emulator = emulator;
    this.frame = 0;
    /** Each player's cumulative reward through `frame`. */
    this.rewards = new Array(replay.players).fill(0);
    /** The rewards of the next act when it follows a loaded state (see advance()). */
    this.nextRewards = /** @type {number[] | null} */ (null);
  }

  /** Whether the last frame of the log is reached. */
  get atEnd() {
    return this.frame >= this.replay.frames;
  }

  /** Emulates one frame of the log; false at its end. */
  advance() {
    const replay = this.replay;
    if (this.frame >= replay.frames) return false;
    const frame = this.frame;
    const save = frame % SNAPSHOT_EVERY === 0 && !replay.snapshots.has(frame);
    const state = save ? this.emulator.saveState() : null;
    const acted = this.emulator.act(replay.actions.map((a) => a[frame]));
    // Player B's reward comes from a RAM tracker outside the saved state (wasm/two_player.cpp):
    // the first act after loadState() would report it against the wrong previous score, so that
    // act's rewards are the ones recorded when the state was saved.
    const rewards = this.nextRewards ?? acted;
    this.nextRewards = null;
    if (state !== null) replay.snapshots.set(frame, { state, rewards: [...this.rewards], next: [...rewards] });
    for (let p = 0; p < rewards.length; p++) this.rewards[p] += rewards[p];
    this.frame = frame + 1;
    const expected = replay.checkpoints.get(this.frame);
    if (expected !== undefined && !replay.results.has(this.frame)) {
      const digest = this.emulator.ramDigest();
      const same = digest === expected.digest && expected.rewards.every((r, p) => r === this.rewards[p]);
      replay.results.set(this.frame, { frame: this.frame, expected, digest, rewards: [...this.rewards], match: same });
    }
    return true;
  }

  /**
   * Makes ready to reach `target`: when it lies behind the cursor, or a saved state is nearer to
   * it than the cursor, that saved state is loaded. Then `advance()` until `frame === target`.
   * @param {number} target a frame in 0..frames
   * @returns {number} the frames still to emulate
   */
  prepare(target) {
    const goal = Math.max(0, Math.min(this.replay.frames, Math.trunc(target)));
    // A loaded state leaves the screen as it was: at least one frame is emulated after loading,
    // except for frame 0, whose screen a reset draws again.
    const base = this.replay.snapshotAtOrBefore(Math.max(0, goal - 1));
    if (goal < this.frame || base > this.frame) {
      const snapshot = /** @type {Snapshot} */ (this.replay.snapshots.get(base));
      if (goal === 0) this.emulator.reset();
      this.emulator.loadState(snapshot.state);
      this.frame = base;
      this.rewards = [...snapshot.rewards];
      this.nextRewards = [...snapshot.next];
    }
    return goal - this.frame;
  }

  /**
   * Emulates toward `target` for at most `budget` frames (after prepare()).
   * @param {number} target @param {number} [budget]
   * @returns {boolean} whether the target is reached
   */
  advanceToward(target, budget = Infinity) {
    const goal = Math.min(this.replay.frames, target);
    for (let n = 0; this.frame < goal && n < budget; n++) this.advance();
    return this.frame >= goal;
  }

  /** Goes to `target` in one go (no drawing in between). @param {number} target */
  seek(target) {
    this.prepare(target);
    this.advanceToward(target);
  }
}
