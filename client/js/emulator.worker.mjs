// The emulator worker: owns the WebAssembly ALE, steps it at the NTSC rate (60 Hz) on its own
// drift-corrected clock, records one action per frame and a checkpoint every
// `checkpoint_interval` frames, and hands chunks and screens to the page (play.mjs).
//
// Timing: frame n of a run is due at `clockStart + n * FRAME_MS` (performance.now()); every tick
// emulates the frames that are due (at most MAX_CATCH_UP at once, else the clock is rebased, so a
// stall never turns into a burst of fast play) and sleeps with setTimeout until the next one.
// requestAnimationFrame is never used: emulation speed does not depend on the display.
//
// A two-player episode (`env.players` = 2) of two humans is a MatchEpisode (match.mjs): rollback
// netcode on two emulators, its relay messages passed through the page. One with an AI partner
// (the start message's `partner`) is an Episode like a one-player one: the participant's keys
// play their seat, the partner (partner.mjs) the other, and every chunk says who played what.
//
// Messages are typed in messages.d.ts.
import { createEmulator, loadAle } from "../wasm/engine.mjs";
import { actionFor } from "./keyboard.mjs";
import { MatchEpisode } from "./match.mjs";
import { Partner } from "./partner.mjs";

/** @typedef {import("./messages").MainToWorker} MainToWorker */
/** @typedef {import("./messages").WorkerToMain} WorkerToMain */
/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */
/** @typedef {import("./messages").ChunkBody} ChunkBody */
/** @typedef {import("./messages").Checkpoint} Checkpoint */
/** @typedef {import("./messages").EndReason} EndReason */
/** @typedef {import("./messages").ResumeFrom} ResumeFrom */
/** @typedef {import("../../wasm/engine").EpisodeEmulator} EpisodeEmulator */

const FRAME_MS = 1000 / 60;
const MAX_CATCH_UP = 3;

/** @type {Promise<import("../../wasm/ale").AleModule> | null} */
let modulePromise = null;
/** @type {Map<string, Promise<Uint8Array>>} */
const roms = new Map();

function aleModule() {
  if (modulePromise === null) {
    modulePromise = (async () => {
      // Fetch ale.wasm ourselves: in a module worker Emscripten 3.1.6 cannot tell where it lives.
      const wasmUrl = new URL("../build/ale.wasm", import.meta.url);
      const response = await fetch(wasmUrl);
      if (!response.ok) throw new Error(`cannot load ${wasmUrl}: HTTP ${response.status}`);
      const wasmBinary = await response.arrayBuffer();
      return loadAle({ jsUrl: new URL("../build/ale.js", import.meta.url).href, wasmBinary });
    })();
    modulePromise.catch(() => (modulePromise = null));
  }
  return modulePromise;
}

/** @param {string} url */
function romBytes(url) {
  let rom = roms.get(url);
  if (rom === undefined) {
    rom = fetch(url).then(async (response) => {
      if (!response.ok) throw new Error(`cannot load the ROM ${url}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    });
    rom.catch(() => roms.delete(url));
    roms.set(url, rom);
  }
  return rom;
}

/** @param {WorkerToMain} message @param {Transferable[]} [transfer] */
function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

/** One episode being played: emulator, recorder and clock (and an AI partner's seat). */
class Episode {
  /**
   * @param {EpisodeGrant} grant
   * @param {EpisodeEmulator} emu
   * @param {Partner | null} [partner] the AI seat of a two-player episode
   */
  constructor(grant, emu, partner = null) {
    this.grant = grant;
    this.partner = partner;
    this.id = grant.episode_id;
    this.emu = emu;
    this.interval = grant.checkpoint_interval;
    this.frame = 0;
    /** @type {number[]} */
    this.totals = Array(emu.players).fill(0);
    /** Frames before the chunk being recorded. */
    this.chunkStart = 0;
    /** @type {number[][]} per player, the actions since the last chunk */
    this.actions = Array.from({ length: emu.players }, () => []);
    /** @type {import("./messages").KeyRecord[]} */
    this.keys = [];
    /** @type {import("./messages").PauseRecord[]} */
    this.pauses = [];
    /** Key changes received since the last frame: they take effect on the next one. */
    /** @type {{key: string, down: boolean, atMs: number, pageMs?: number}[]} */
    this.incoming = [];
    this.ended = false;
    this.paused = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.clockStart = 0;
    this.clockFrames = 0;
  }

  /**
   * Fast-forwards through the frames already recorded, without rendering.
   * @param {ResumeFrom} resume
   */
  fastForward(resume) {
    const [actions] = resume.actions;
    const expected = new Map(resume.checkpoints.map((c) => [c.frame, c]));
    for (const a of actions) {
      const rewards = this.emu.act([a]);
      rewards.forEach((r, p) => (this.totals[p] += r));
      this.frame += 1;
      if (this.emu.gameOver() || this.emu.truncated()) {
        throw new Error(`the game ended at frame ${this.frame} while replaying ${actions.length} recorded frames`);
      }
      const cp = expected.get(this.frame);
      if (cp !== undefined) {
        const digest = this.emu.ramDigest();
        if (digest !== cp.digest || cp.rewards.some((r, p) => r !== this.totals[p])) {
          throw new Error(`replay diverges at frame ${this.frame}: digest ${digest}, rewards ${this.totals}; recorded ${cp.digest}, ${cp.rewards}`);
        }
        expected.delete(this.frame);
      }
    }
    if (expected.size > 0) throw new Error(`checkpoints past the recorded actions: ${[...expected.keys()]}`);
    if (this.frame % this.interval !== 0) {
      throw new Error(`a resumed episode must continue at a chunk boundary, got frame ${this.frame}`);
    }
    this.chunkStart = this.frame;
  }

  /** Starts (or restarts after a pause) the 60 Hz clock. */
  run() {
    if (this.ended || this.paused || this.timer !== null) return;
    this.clockStart = performance.now();
    this.clockFrames = 0;
    this.timer = setTimeout(() => this.tick(), FRAME_MS);
  }

  halt() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  tick() {
    this.timer = null;
    if (this.ended || this.paused) return;
    let due = Math.floor((performance.now() - this.clockStart) / FRAME_MS) - this.clockFrames;
    if (due > MAX_CATCH_UP) {
      // A long stall (GC, a busy machine): play on from now rather than racing to catch up.
      this.clockStart = performance.now() - FRAME_MS;
      this.clockFrames = 0;
      due = 1;
    }
    for (let i = 0; i < due && !this.ended; i++) {
      this.step();
      this.clockFrames += 1;
    }
    if (!this.ended) {
      this.render();
      const next = this.clockStart + (this.clockFrames + 1) * FRAME_MS;
      this.timer = setTimeout(() => this.tick(), Math.max(0, next - performance.now()));
    }
  }

  /** Emulates one frame with the action of the keys held now (and the partner's). */
  step() {
    const actions = [actionFor(heldKeys)];
    if (this.partner !== null) actions.splice(this.partner.seat, 0, this.partner.next(this.emu, this.frame));
    const rewards = this.emu.act(actions);
    const appliedMs = performance.timeOrigin + performance.now();
    rewards.forEach((r, p) => (this.totals[p] += r));
    this.frame += 1;
    actions.forEach((a, p) => this.actions[p].push(a));
    this.partner?.played(this.emu);
    for (const change of this.incoming) {
      this.keys.push([this.frame, change.key, change.down ? 1 : 0]);
      post({ type: "key-applied", episodeId: this.id, key: change.key, down: change.down, frame: this.frame, eventMs: change.atMs, appliedMs });
    }
    this.incoming = [];
    if (this.emu.gameOver()) this.finish("game_over");
    else if (this.emu.truncated()) this.finish("truncated");
    else if (this.frame % this.interval === 0) this.emitChunk(null);
  }

  /**
   * Emits the actions since the last chunk, with the checkpoint after the current frame.
   * @param {EndReason | null} reason non-null for the final chunk
   */
  emitChunk(reason) {
    const frames = this.frame - this.chunkStart;
    /** @type {ChunkBody} */
    const chunk = {
      start: this.chunkStart,
      actions: this.actions,
      checkpoints: [{ frame: this.frame, digest: this.emu.ramDigest(), rewards: [...this.totals] }],
      end: reason === null ? null : { frame: this.frame, reason },
      client: { sent_at_ms: Date.now(), keys: this.keys, pauses: this.pauses },
    };
    const partner = this.partner;
    if (partner !== null) {
      const human = [{ controller: "human", frames }];
      chunk.controllers = this.actions.map((_, p) => (p === partner.seat ? partner.runs(frames) : human));
      post({ type: "partner", episodeId: this.id, stats: structuredClone(partner.stats) });
    }
    this.chunkStart = this.frame;
    this.actions = this.actions.map(() => []);
    this.keys = [];
    this.pauses = [];
    post({ type: "chunk", episodeId: this.id, chunk });
  }

  /** @param {EndReason} reason */
  finish(reason) {
    if (this.ended) return;
    // A final chunk holds at least one frame: if the participant finishes exactly on a chunk
    // boundary, the frame on screen is played out first (1/60 s).
    if (this.actions[0].length === 0) {
      this.step();
      if (this.ended) return;
    }
    this.ended = true;
    this.halt();
    this.render();
    this.emitChunk(reason);
    post({ type: "ended", episodeId: this.id, end: { frame: this.frame, reason }, score: [...this.totals] });
    this.emu.delete();
    this.partner?.close();
  }

  /** @param {boolean} hidden */
  setHidden(hidden) {
    if (this.ended || hidden === this.paused) return;
    this.paused = hidden;
    this.pauses.push([this.frame, hidden ? "hidden" : "visible", Date.now()]);
    post({ type: "paused", episodeId: this.id, paused: hidden, frame: this.frame });
    if (hidden) this.halt();
    else this.run();
  }

  render() {
    const pixels = this.emu.screenRGBA();
    post(
      { type: "frame", episodeId: this.id, frame: this.frame, score: [...this.totals], width: this.emu.screenWidth(), height: this.emu.screenHeight(), pixels: pixels.buffer },
      [pixels.buffer],
    );
  }

  stop() {
    if (this.ended) return;
    this.ended = true;
    this.halt();
    this.emu.delete();
    this.partner?.close();
  }
}

/** Keys held on the page, as last posted (KeyboardEvent.code). */
let heldKeys = /** @type {string[]} */ ([]);
let hidden = false;
/** @type {Episode | MatchEpisode | null} */
let episode = null;
/** @type {import("./messages").RelayIncoming[]} relay messages that came while a match was
 *  loading (the partner's actions follow `ready` at once): given to it when it starts */
let earlyRelay = [];

/** @param {import("./messages").StartMessage} message */
async function start(message) {
  episode?.stop();
  episode = null;
  if (message.episode.env.players !== 2) earlyRelay = [];
  hidden = message.hidden;
  const grant = message.episode;
  const spec = message.partner;
  if (grant.env.players === 2 && spec === undefined) return startMatch(grant);
  let emu;
  let partner = null;
  try {
    const players = spec === undefined ? 1 : 2;
    if (grant.env.players !== players) {
      throw new Error(`this client plays one-player games, and two-player games with a partner, got env.players = ${grant.env.players}`);
    }
    if (spec !== undefined && message.resume !== undefined) throw new Error("a game with an AI partner is not resumed");
    const [module, rom] = await Promise.all([aleModule(), romBytes(grant.rom_url)]);
    emu = createEmulator(module, { romBytes: rom, env: grant.env, seed: grant.seed });
    if (spec !== undefined) {
      partner = new Partner(spec);
      partner.start(emu);
    }
  } catch (e) {
    emu?.delete();
    post({ type: "error", episodeId: grant.episode_id, phase: message.resume === undefined ? "fatal" : "resume", message: String(e instanceof Error ? e.message : e) });
    return;
  }
  const current = new Episode(grant, emu, partner);
  if (message.resume !== undefined) {
    try {
      current.fastForward(message.resume);
    } catch (e) {
      emu.delete();
      post({ type: "error", episodeId: grant.episode_id, phase: "resume", message: String(e instanceof Error ? e.message : e) });
      return;
    }
  }
  episode = current;
  post({ type: "started", episodeId: current.id, frame: current.frame, score: [...current.totals] });
  current.render();
  if (hidden) current.setHidden(true);
  current.run();
}

/**
 * Starts a two-player episode: rollback on two emulators of it (match.mjs).
 * @param {EpisodeGrant} grant
 */
async function startMatch(grant) {
  /** @type {EpisodeEmulator[]} */
  const made = [];
  try {
    const [module, rom] = await Promise.all([aleModule(), romBytes(grant.rom_url)]);
    for (let i = 0; i < 2; i++) made.push(createEmulator(module, { romBytes: rom, env: grant.env, seed: grant.seed }));
    const current = new MatchEpisode(grant, { confirmed: made[0], present: made[1] }, { post, action: () => actionFor(heldKeys) });
    episode = current;
    for (const early of earlyRelay) current.onRelay(early);
    earlyRelay = [];
    post({ type: "started", episodeId: current.id, frame: 0, score: [0, 0] });
    current.render();
    if (hidden) current.setHidden(true);
    current.run();
  } catch (e) {
    for (const emu of made) emu.delete();
    post({ type: "error", episodeId: grant.episode_id, phase: "fatal", message: String(e instanceof Error ? e.message : e) });
  }
}

self.onmessage = (/** @type {MessageEvent<MainToWorker>} */ event) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      void start(message);
      break;
    case "keys":
      heldKeys = message.held;
      episode?.incoming.push({ key: message.key, down: message.down, atMs: message.atMs, pageMs: message.pageMs });
      break;
    case "visibility":
      hidden = message.hidden;
      episode?.setHidden(message.hidden);
      break;
    case "finish":
      episode?.finish("ended_by_participant");
      break;
    case "relay":
      if (episode instanceof MatchEpisode) episode.onRelay(message.message);
      else if (episode === null) earlyRelay.push(message.message); // the match is starting
      break;
    case "partner-left":
      if (episode instanceof MatchEpisode) episode.finish(message.reason ?? "partner_left", false);
      break;
    case "stop":
      episode?.stop();
      episode = null;
      break;
  }
};
