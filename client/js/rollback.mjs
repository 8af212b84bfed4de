// Rollback netcode for two humans in one game (docs/two-players.md, "Client: rollback"), with no
// network and no DOM: the emulator worker (emulator.worker.mjs) drives it in the browser, and
// wasm/rollback_sim.mjs drives two of them through a simulated network in Node.
//
// A RollbackSession plays this participant's seat on two emulators of the same episode
// (wasm/engine.mjs). The *present* one is what is drawn: every tick it emulates the next frame
// with the local action (input delay 0) and the partner's action for that frame, the real one when
// it has arrived, else a prediction (the partner's last known action). The *confirmed* one only
// ever emulates confirmed frames (both seats' actions known), in order, and never loads a state:
// it is the straight replay the verifier does, so its checkpoints and end are exact. It is also
// the saved state before the first predicted frame: when the partner's real actions arrive and one
// differs from its prediction at frame g, the present emulator loads the confirmed one's state
// (at frame g - 1 or later) and emulates from there to now again with the real actions — a
// rollback. The session never emulates more than `maxPrediction` frames past the partner's last
// received action: the tick is refused (a stall) until actions arrive. At every confirmed multiple
// of the checkpoint interval it emits the RAM digest and both players' cumulative rewards, and it
// emits the game's end (game over or truncation) once the frame it ended on is confirmed. After a
// desync, `resync` loads the partner's state blob of a checkpoint into the confirmed emulator and
// emulates from there with the known actions.
//
// Why two emulators and not a ring of saveState()s on one: a state blob of the WebAssembly build
// (wasm/emulator.cpp) leaves out ALE's sticky "last applied action" of each player and the
// two-player reward rules' memory (the last scores, wasm/two_player.cpp). After a loadState the
// next frame may repeat another action than a straight replay would (repeat_action_probability >
// 0) and player B's next reward is computed against a stale score, so a single emulator that rolls
// back drifts from the verifier (tests/wasm/test_rollback.py shows both). Loading states only into
// the present emulator keeps those errors on the screen, for a few predicted frames at most.
//
// Events (checkpoints, the end) queue up in the session and are read with `drain()`.

/** @typedef {import("../../wasm/engine").EpisodeEmulator} EpisodeEmulator */

/** Frames the session may emulate past the partner's last received action. GGPO/GGRS use 8
 *  peer to peer; through the relay a partner's action travels browser -> server -> browser
 *  (twice the one-way delay, plus TCP's head-of-line jitter): at 50 ± 20 ms each way it arrives
 *  about 7.5 frames late, and 8 stalled several times a second (tests/e2e/test_two_players.py).
 *  12 frames cover 200 ms partner to partner. */
export const MAX_PREDICTION = 12;
/** How many confirmed checkpoints keep their state blob, to answer a partner's state_request. */
const KEPT_CHECKPOINTS = 8;
/** The lead (frames past the partner's last action) above which the clock slows down, and below
 *  which it runs at full speed again; smoothed over about half a second. */
const SLOW_ABOVE = 11.5;
const FULL_SPEED_BELOW = 10;
const LEAD_SMOOTHING = 1 / 30;
/** Frame period multiplier while slowed down (the partner catches up 1 frame in 10). */
export const SLOWDOWN = 1.1;

/** Raised when the partner's actions contradict what was received before, or a call is invalid. */
export class RollbackError extends Error {
  constructor(message) {
    super(message);
    this.name = "RollbackError";
  }
}

/**
 * @typedef {object} CheckpointEvent a confirmed checkpoint (docs/two-players.md `digest`)
 * @property {"checkpoint"} type
 * @property {number} frame a multiple of the checkpoint interval
 * @property {string} digest
 * @property {number[]} rewards cumulative [rA, rB] through `frame`
 * @property {boolean} resent true when a resync recomputed a checkpoint emitted before
 *
 * @typedef {object} EndEvent the confirmed end of the game
 * @property {"end"} type
 * @property {number} frame the last frame of the episode
 * @property {"game_over" | "truncated" | "ended_by_participant"} reason
 *
 * @typedef {CheckpointEvent | EndEvent} SessionEvent
 *
 * @typedef {object} RollbackStats
 * @property {number} frames frames on the present timeline
 * @property {number} confirmed the confirmed frame
 * @property {number} rollbacks
 * @property {number} rollbackFrames frames emulated again, over all rollbacks
 * @property {number} meanDepth rollbackFrames / rollbacks (0 without rollbacks)
 * @property {number} maxDepth
 * @property {number} stalls runs of refused ticks
 * @property {number} stalledTicks refused ticks
 * @property {number} resyncs
 * @property {number} predicted frames emulated with a predicted partner action
 */

/** One participant's side of a two-player game with rollback. */
export class RollbackSession {
  /**
   * @param {{confirmed: EpisodeEmulator, present: EpisodeEmulator}} emulators two two-player
   *   emulators of the episode, both freshly set up (frame 0)
   * @param {object} options
   * @param {0 | 1} options.seat this participant's seat (0 = player A)
   * @param {number} options.checkpointInterval frames between checkpoints
   * @param {number} [options.maxPrediction] frames past the partner's last action (default MAX_PREDICTION)
   */
  constructor({ confirmed, present }, { seat, checkpointInterval, maxPrediction = MAX_PREDICTION }) {
    for (const emu of [confirmed, present]) {
      if (emu?.players !== 2) throw new RollbackError(`a rollback session needs two-player emulators, got ${emu?.players} player(s)`);
    }
    if (confirmed === present) throw new RollbackError("the confirmed and the present emulator must be two emulators");
    if (seat !== 0 && seat !== 1) throw new RollbackError(`seat must be 0 or 1, got ${JSON.stringify(seat)}`);
    if (!Number.isInteger(checkpointInterval) || checkpointInterval < 1) {
      throw new RollbackError(`checkpointInterval must be a positive integer, got ${JSON.stringify(checkpointInterval)}`);
    }
    if (!Number.isInteger(maxPrediction) || maxPrediction < 1) {
      throw new RollbackError(`maxPrediction must be a positive integer, got ${JSON.stringify(maxPrediction)}`);
    }
    this.exact = confirmed;
    this.emu = present;
    this.seat = seat;
    this.interval = checkpointInterval;
    this.maxPrediction = maxPrediction;
    /** Frames emulated on the present timeline. */
    this.frame = 0;
    /** Cumulative rewards [rA, rB] through `frame` on the present timeline (what is shown). */
    this.totals = [0, 0];
    /** Both seats' actions known and emulated by the confirmed emulator through this frame. */
    this.confirmed = 0;
    /** Cumulative rewards through `confirmed` (exact). */
    this.confirmedTotals = [0, 0];
    /** @type {number[]} this seat's action of frame f at [f - 1] (every one was sent) */
    this.local = [];
    /** @type {number[]} the partner's received actions, frames 1 … partner.length */
    this.partner = [];
    /** @type {Map<number, number>} partner actions received ahead of a gap, by frame */
    this.early = new Map();
    /** @type {Map<number, number>} the prediction used for each present frame not yet confirmed */
    this.predictions = new Map();
    /** @type {Map<number, {digest: string, rewards: number[], blob: Uint8Array}>} the last
     *  KEPT_CHECKPOINTS confirmed checkpoints, with the confirmed emulator's state */
    this.checkpoints = new Map();
    /** @type {{frame: number, reason: "game_over" | "truncated"} | null} the game ended on the
     *  present timeline (a rollback may undo it until its frame is confirmed) */
    this.gameEnd = null;
    /** @type {EndEvent | null} the confirmed end */
    this.ended = null;
    /** Last checkpoint frame emitted. */
    this.emitted = 0;
    /** @type {SessionEvent[]} */
    this.events = [];
    this.stalled = false;
    this.lead = 0;
    this.slow = false;
    this.stats = { rollbacks: 0, rollbackFrames: 0, maxDepth: 0, reemulated: 0, stalls: 0, stalledTicks: 0, resyncs: 0, predicted: 0 };
  }

  /** Frames past the partner's last received action that the next frame would be. */
  get ahead() {
    return this.frame + 1 - this.partner.length;
  }

  /** Whether the next tick would be refused: the prediction window is full. */
  get waiting() {
    return this.ended === null && this.gameEnd === null && this.ahead > this.maxPrediction;
  }

  /** The frame period multiplier the driver's clock should use now (1, or SLOWDOWN while far ahead). */
  get pace() {
    return this.slow ? SLOWDOWN : 1;
  }

  /**
   * One tick: emulates the next frame with `action` as this seat's, unless the game has ended or
   * the prediction window is full (a stall: nothing is emulated, the tick is counted).
   * @param {number} action this seat's ALE action (0..17) for the next frame
   * @returns {boolean} whether a frame was emulated
   */
  advance(action) {
    if (this.ended !== null || this.gameEnd !== null) return false;
    if (this.ahead > this.maxPrediction) {
      if (!this.stalled) this.stats.stalls += 1;
      this.stalled = true;
      this.stats.stalledTicks += 1;
      return false;
    }
    this.stalled = false;
    // After a rollback ended the game early and a later one undid it, the actions already sent
    // for those frames stand.
    if (this.local.length === this.frame) this.local.push(action);
    this.step();
    this.confirm();
    this.lead += (this.frame - this.partner.length - this.lead) * LEAD_SMOOTHING;
    if (this.slow ? this.lead < FULL_SPEED_BELOW : this.lead > SLOW_ABOVE) this.slow = !this.slow;
    return true;
  }

  /**
   * The partner's actions for frames start + 1 …, as the relay forwards them (possibly for frames
   * already emulated, possibly repeating some). A prediction that was wrong rolls back.
   * @param {number} start frames before the first action
   * @param {number[]} actions
   * @throws {RollbackError} when an action contradicts one received before
   */
  receive(start, actions) {
    if (!Number.isInteger(start) || start < 0 || !Array.isArray(actions)) {
      throw new RollbackError(`partner actions need a start frame >= 0 and a list, got ${JSON.stringify(start)}`);
    }
    const before = this.partner.length;
    actions.forEach((a, i) => {
      if (!Number.isInteger(a) || a < 0 || a > 17) throw new RollbackError(`partner action must be 0..17, got ${JSON.stringify(a)}`);
      const f = start + 1 + i;
      if (f <= this.partner.length) {
        if (this.partner[f - 1] !== a) {
          throw new RollbackError(`the partner's action for frame ${f} changed from ${this.partner[f - 1]} to ${a}`);
        }
      } else if (f === this.partner.length + 1) {
        this.partner.push(a);
      } else {
        this.early.set(f, a);
      }
    });
    for (let a = this.early.get(this.partner.length + 1); a !== undefined; a = this.early.get(this.partner.length + 1)) {
      this.early.delete(this.partner.length + 1);
      this.partner.push(a);
    }
    const known = this.partner.length;
    let wrong = 0;
    for (let f = before + 1; f <= Math.min(known, this.frame); f++) {
      if (this.predictions.get(f) !== this.partner[f - 1]) {
        wrong = f;
        break;
      }
    }
    for (let f = before + 1; f <= known; f++) this.predictions.delete(f);
    this.confirm();
    if (wrong > 0) this.rollback(this.frame - wrong + 1);
  }

  /**
   * Ends the game at the confirmed frame (Finish, or the partner left): nothing more is emulated.
   * @param {"ended_by_participant"} reason
   * @returns {EndEvent}
   */
  finish(reason = "ended_by_participant") {
    if (this.ended !== null) return this.ended;
    this.ended = { type: "end", frame: this.confirmed, reason };
    return this.ended;
  }

  /**
   * The state blob and cumulative rewards of a confirmed checkpoint, to answer the partner's
   * state_request; null when it is no longer (or not yet) kept.
   * @param {number} frame
   * @returns {{blob: Uint8Array, rewards: number[]} | null}
   */
  stateAt(frame) {
    const checkpoint = frame <= this.confirmed ? this.checkpoints.get(frame) : undefined;
    return checkpoint === undefined ? null : { blob: checkpoint.blob, rewards: [...checkpoint.rewards] };
  }

  /**
   * Resynchronises after a desync: loads the partner's state after `frame` (a checkpoint this
   * session has confirmed) into the confirmed emulator, emulates frame + 1 … confirmed again with
   * the known actions, and rolls the present back onto it. The checkpoints from `frame` on
   * already emitted are emitted again (`resent`).
   * @param {number} frame
   * @param {Uint8Array} blob the partner's saveState() after `frame`
   * @param {number[]} [rewards] the partner's cumulative rewards through `frame` (default: ours)
   */
  resync(frame, blob, rewards) {
    if (!Number.isInteger(frame) || frame < 0 || frame > this.confirmed) {
      throw new RollbackError(`resync needs a confirmed frame (0..${this.confirmed}), got ${JSON.stringify(frame)}`);
    }
    const totals = rewards ?? this.checkpoints.get(frame)?.rewards;
    if (totals === undefined) throw new RollbackError(`no rewards known at frame ${frame} to resync from`);
    this.exact.loadState(blob);
    const through = this.confirmed;
    const resent = this.emitted;
    this.confirmed = frame;
    this.confirmedTotals = [...totals];
    for (const k of this.checkpoints.keys()) if (k > frame) this.checkpoints.delete(k);
    if (frame % this.interval === 0 && frame > 0) {
      const checkpoint = { digest: this.exact.ramDigest(), rewards: [...this.confirmedTotals], blob };
      this.checkpoints.set(frame, checkpoint);
      this.events.push({ type: "checkpoint", frame, digest: checkpoint.digest, rewards: [...checkpoint.rewards], resent: true });
    }
    this.emitted = Math.floor(Math.min(this.emitted, frame) / this.interval) * this.interval;
    this.stats.resyncs += 1;
    this.ended = null;
    this.confirmTo(through, resent);
    this.rollback(0);
  }

  /** @returns {SessionEvent[]} the events since the last call */
  drain() {
    const events = this.events;
    this.events = [];
    return events;
  }

  /**
   * The confirmed per-frame actions, [seat 0's, seat 1's], through the confirmed frame (or the
   * confirmed end).
   * @returns {[number[], number[]]}
   */
  log() {
    const n = this.ended?.frame ?? this.confirmed;
    const mine = this.local.slice(0, n);
    const theirs = this.partner.slice(0, n);
    return this.seat === 0 ? [mine, theirs] : [theirs, mine];
  }

  /** @returns {RollbackStats} */
  summary() {
    const s = this.stats;
    return { frames: this.frame, confirmed: this.confirmed, ...s, meanDepth: s.rollbacks === 0 ? 0 : s.rollbackFrames / s.rollbacks };
  }

  // ---- internals ----

  /** The pair of frame f with this seat's action `mine` and the partner's `theirs`. */
  pair(mine, theirs) {
    return this.seat === 0 ? [mine, theirs] : [theirs, mine];
  }

  /** Emulates present frame + 1 with this seat's recorded action and the partner's known or predicted one. */
  step() {
    const f = this.frame + 1;
    let theirs = this.partner[f - 1];
    if (theirs === undefined) {
      theirs = this.partner.length === 0 ? 0 : this.partner[this.partner.length - 1];
      this.predictions.set(f, theirs);
      this.stats.predicted += 1;
    }
    const rewards = this.emu.act(this.pair(this.local[f - 1], theirs));
    this.totals[0] += rewards[0];
    this.totals[1] += rewards[1];
    this.frame = f;
    if (this.emu.gameOver()) this.gameEnd = { frame: f, reason: "game_over" };
    else if (this.emu.truncated()) this.gameEnd = { frame: f, reason: "truncated" };
  }

  /**
   * The present emulator takes the confirmed one's state and emulates to now again with the
   * actions known now (predicting the rest).
   * @param {number} depth frames whose partner action was mispredicted, counting from the first
   *   (0: not a rollback, a resync or a stale present end)
   */
  rollback(depth) {
    const target = this.frame;
    if (depth > 0) {
      this.stats.rollbacks += 1;
      this.stats.rollbackFrames += depth;
      this.stats.maxDepth = Math.max(this.stats.maxDepth, depth);
    }
    this.emu.loadState(this.exact.saveState());
    this.frame = this.confirmed;
    this.totals = [...this.confirmedTotals];
    this.gameEnd = null;
    this.predictions.clear();
    while (this.frame < target && this.gameEnd === null && this.ended === null) {
      this.step();
      this.stats.reemulated += 1;
    }
  }

  /** Moves the confirmed frame forward as far as both seats' actions reach and the present went. */
  confirm() {
    if (this.ended !== null) return;
    this.confirmTo(Math.min(this.partner.length, this.frame), 0);
    // The present ended on a frame the confirmed emulator went past without ending (a stale
    // two-player rule after a loadState): take the confirmed state again and play on.
    if (this.ended === null && this.gameEnd !== null && this.gameEnd.frame <= this.confirmed) this.rollback(0);
  }

  /**
   * Emulates confirmed frames on the confirmed emulator through `through`, emitting checkpoints
   * and the end.
   * @param {number} through
   * @param {number} resentThrough checkpoints up to this frame were emitted before (a resync)
   */
  confirmTo(through, resentThrough) {
    while (this.confirmed < through && this.ended === null) {
      const f = this.confirmed + 1;
      const rewards = this.exact.act(this.pair(this.local[f - 1], this.partner[f - 1]));
      this.confirmedTotals[0] += rewards[0];
      this.confirmedTotals[1] += rewards[1];
      this.confirmed = f;
      if (f % this.interval === 0) {
        const checkpoint = { digest: this.exact.ramDigest(), rewards: [...this.confirmedTotals], blob: this.exact.saveState() };
        this.checkpoints.set(f, checkpoint);
        this.checkpoints.delete(f - KEPT_CHECKPOINTS * this.interval);
        this.events.push({ type: "checkpoint", frame: f, digest: checkpoint.digest, rewards: [...checkpoint.rewards], resent: f <= resentThrough });
        this.emitted = f;
      }
      const reason = this.exact.gameOver() ? "game_over" : this.exact.truncated() ? "truncated" : null;
      if (reason !== null) {
        this.ended = { type: "end", frame: f, reason };
        this.events.push({ ...this.ended });
      }
    }
  }
}
