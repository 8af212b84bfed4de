// A two-player episode in the emulator worker (docs/two-players.md): a RollbackSession
// (rollback.mjs) on two emulators, stepped at 60 Hz on the worker's drift-corrected clock (slowed
// by the session's pace while far ahead of the partner). This seat's actions go to the relay
// (through the page) as they change, and every INPUT_EVERY frames; the relay's messages come back
// through the page. A
// confirmed checkpoint sends `digest`, the confirmed end `end`; `desync` asks the partner for its
// state, a partner's `state_request` is answered from the kept checkpoint states. A stall (the
// partner's actions are more than MAX_PREDICTION frames behind) is told to the page, which shows "Waiting for
// your partner…"; a hidden tab stops the clock and sends `visibility`.
import { RollbackSession } from "./rollback.mjs";

/** @typedef {import("../../wasm/engine").EpisodeEmulator} EpisodeEmulator */
/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */
/** @typedef {import("./messages").WorkerToMain} WorkerToMain */
/** @typedef {import("./messages").RelayIncoming} RelayIncoming */

const FRAME_MS = 1000 / 60;
const MAX_CATCH_UP = 3;
/**
 * An unchanged action is sent with the next one at most this many frames late: half the relay's
 * messages (and the server's work per pair), no rollback more (the partner predicts "unchanged").
 */
const INPUT_EVERY = 2;
/** Steps remembered to tell which frame was current at a key event (half a second). */
const STEPS_KEPT = 30;

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** @param {string} text */
function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export class MatchEpisode {
  /**
   * @param {EpisodeGrant} grant with `seat`
   * @param {{confirmed: EpisodeEmulator, present: EpisodeEmulator}} emulators
   * @param {object} io
   * @param {(message: WorkerToMain, transfer?: Transferable[]) => void} io.post
   * @param {() => number} io.action this seat's action now (the keys held)
   */
  constructor(grant, emulators, { post, action }) {
    this.grant = grant;
    this.id = grant.episode_id;
    this.emulators = emulators;
    this.post = post;
    this.action = action;
    this.session = new RollbackSession(emulators, { seat: /** @type {0 | 1} */ (grant.seat), checkpointInterval: grant.checkpoint_interval });
    /** @type {{key: string, down: boolean, atMs: number, pageMs?: number}[]} key changes not yet on a frame */
    this.incoming = [];
    /** @type {number[]} partner state requests not answered yet */
    this.requests = [];
    this.resyncing = false;
    this.ended = false;
    this.paused = false;
    this.waiting = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.clockStart = 0;
    this.clockFrames = 0;
    this.pace = 1;
    /** @type {[number, number][]} the last steps as [epoch ms its input was sampled, frame], oldest first */
    this.steps = [];
    /** Frames of this seat's actions sent to the relay, and the last one sent. */
    this.sent = this.session.frame;
    this.sentAction = -1;
  }

  get frame() {
    return this.session.frame;
  }

  get totals() {
    return [...this.session.totals];
  }

  /**
   * Sends this seat's actions not sent yet. A changed action goes at once; an unchanged one may
   * wait INPUT_EVERY - 1 frames (the partner predicts it right meanwhile), and anything held
   * goes before a digest or the end, and whenever this seat is not advancing.
   */
  sendInputs() {
    const f = this.session.frame;
    if (f <= this.sent) return;
    this.relay({ type: "inputs", start: this.sent, actions: this.session.local.slice(this.sent, f) });
    this.sentAction = this.session.local[f - 1];
    this.sent = f;
  }

  /** @param {object} message a message for the relay */
  relay(message) {
    this.post({ type: "relay", episodeId: this.id, message });
  }

  run() {
    if (this.ended || this.paused || this.timer !== null) return;
    this.clockStart = performance.now();
    this.clockFrames = 0;
    this.timer = setTimeout(() => this.tick(), FRAME_MS * this.pace);
  }

  halt() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  tick() {
    this.timer = null;
    if (this.ended || this.paused) return;
    const period = FRAME_MS * this.pace;
    let due = Math.floor((performance.now() - this.clockStart) / period) - this.clockFrames;
    if (due > MAX_CATCH_UP) {
      this.clockStart = performance.now() - period;
      this.clockFrames = 0;
      due = 1;
    }
    for (let i = 0; i < due && !this.ended; i++) {
      this.step();
      this.clockFrames += 1;
    }
    if (this.ended) return;
    this.render();
    if (this.session.pace !== this.pace) {
      // A new frame period: rebase the clock on now.
      this.pace = this.session.pace;
      this.clockStart = performance.now();
      this.clockFrames = 0;
    }
    const next = this.clockStart + (this.clockFrames + 1) * FRAME_MS * this.pace;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - performance.now()));
  }

  /** One tick: a frame with the keys held now, unless the partner is too far behind. */
  step() {
    // When this frame's input is sampled: a key pressed after it takes effect on the next frame.
    const sampledMs = performance.timeOrigin + performance.now();
    const advanced = this.session.advance(this.action());
    const waiting = !advanced && this.session.waiting;
    if (waiting !== this.waiting || (advanced && this.session.frame % 60 === 0)) {
      this.waiting = waiting;
      this.post({ type: "net", episodeId: this.id, waiting, stats: this.session.summary() });
    }
    if (!advanced) this.sendInputs(); // waiting: the partner may be waiting for ours
    if (advanced) {
      const f = this.session.frame;
      const action = this.session.local[f - 1];
      if (action !== this.sentAction || f - this.sent >= INPUT_EVERY) this.sendInputs();
      const appliedMs = performance.timeOrigin + performance.now();
      for (const change of this.incoming) {
        const frames = f - this.frameAt(change.atMs);
        const pageFrames = f - this.frameAt(change.pageMs ?? change.atMs);
        this.post({ type: "key-applied", episodeId: this.id, key: change.key, down: change.down, frame: f, eventMs: change.atMs, appliedMs, frames, pageFrames });
      }
      this.incoming = [];
      this.steps.push([sampledMs, f]);
      if (this.steps.length > STEPS_KEPT) this.steps.shift();
    }
    this.flush();
  }

  /**
   * The last frame whose input was sampled at or before epoch ms `atMs` (the frame current when
   * a key was pressed); the frame before the oldest kept step if the key is older than all.
   * @param {number} atMs
   */
  frameAt(atMs) {
    for (let i = this.steps.length - 1; i >= 0; i--) {
      if (this.steps[i][0] <= atMs) return this.steps[i][1];
    }
    return this.steps.length ? this.steps[0][1] - 1 : this.session.frame - 1;
  }

  /**
   * A message of the relay (forwarded by the page).
   * @param {RelayIncoming} message
   */
  onRelay(message) {
    if (this.ended) return;
    switch (message.type) {
      case "partner_inputs":
        this.session.receive(message.start, message.actions);
        break;
      case "desync":
        if (!this.resyncing) {
          this.resyncing = true;
          this.relay({ type: "state_request", frame: message.frame });
        }
        break;
      case "state_request":
        this.requests.push(message.frame);
        break;
      case "state":
        this.session.resync(message.frame, fromBase64(message.blob), message.rewards);
        this.resyncing = false;
        break;
    }
    this.flush();
  }

  /** Sends the session's checkpoints and end, answers the state requests it can. */
  flush() {
    const events = this.session.drain();
    if (events.length) this.sendInputs(); // the server stores a checkpoint only once it holds our actions through it
    for (const event of events) {
      if (event.type === "checkpoint") {
        this.relay({ type: "digest", frame: event.frame, digest: event.digest, rewards: event.rewards });
      } else {
        // The server stores the end with a checkpoint at its frame (docs/two-players.md): the
        // confirmed emulator stopped on that frame.
        const digest = this.session.exact.ramDigest();
        this.relay({ type: "end", frame: event.frame, reason: event.reason, digest, rewards: [...this.session.confirmedTotals] });
        this.end(event.frame, event.reason);
        return;
      }
    }
    this.requests = this.requests.filter((k) => {
      const state = this.session.stateAt(k);
      if (state === null) return true;
      this.relay({ type: "state", frame: k, blob: toBase64(state.blob), rewards: state.rewards });
      return false;
    });
  }

  /**
   * @param {number} frame
   * @param {import("./messages").MatchEndReason} reason
   */
  end(frame, reason) {
    if (this.ended) return;
    this.ended = true;
    this.halt();
    this.render();
    const score = [...this.session.confirmedTotals];
    this.post({ type: "net", episodeId: this.id, waiting: false, stats: this.session.summary() });
    this.post({ type: "ended", episodeId: this.id, end: { frame, reason }, score });
    this.free();
  }

  /**
   * Finish, or the partner left or finished: the episode ends at the last confirmed frame.
   * @param {"ended_by_participant" | "partner_left"} reason
   * @param {boolean} [tell] whether the server is to be told (this seat's Finish)
   */
  finish(reason, tell = true) {
    if (this.ended) return;
    const end = this.session.finish("ended_by_participant");
    if (reason === "ended_by_participant" && tell) this.relay({ type: "end", reason });
    this.end(end.frame, reason);
  }

  /** @param {boolean} hidden */
  setHidden(hidden) {
    if (this.ended || hidden === this.paused) return;
    this.paused = hidden;
    if (hidden) this.sendInputs();
    this.relay({ type: "visibility", hidden });
    this.post({ type: "paused", episodeId: this.id, paused: hidden, frame: this.frame });
    if (hidden) this.halt();
    else this.run();
  }

  render() {
    const emu = this.emulators.present;
    const pixels = emu.screenRGBA();
    const score = this.totals;
    this.post(
      { type: "frame", episodeId: this.id, frame: this.frame, score, width: emu.screenWidth(), height: emu.screenHeight(), pixels: pixels.buffer },
      [pixels.buffer],
    );
  }

  stop() {
    if (this.ended) return;
    this.ended = true;
    this.halt();
    this.free();
  }

  free() {
    this.emulators.confirmed.delete();
    this.emulators.present.delete();
  }
}
