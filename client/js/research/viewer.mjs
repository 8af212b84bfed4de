// The console's replay viewer (/research/episodes/<id>, docs/console.md): the stored log replayed
// in this browser by the WebAssembly emulator — play/pause, speed, a seek bar with the checkpoints
// (matched or not) and the verifier's divergent frame, frame steps, each player's action, keys,
// cumulative reward and lives, and a clip exported as WebM. The server emulates nothing for it.
//
// Two emulators run on this page: the *view* (what the screen shows) and the *checker*, which
// replays the whole log in the background in small slices, comparing every checkpoint and saving
// a state every SNAPSHOT_EVERY frames; both share what they find (a Replay). Seeking loads the
// nearest saved state at or before the target and emulates the rest without drawing.
import { createEmulator, loadAle } from "../../wasm/engine.mjs";
import { $, describe, element } from "../dom.mjs";
import { formatNumber } from "../format.mjs";
import { call, post, toSignIn } from "./api.mjs";
import { download, recordWebm, webmType } from "./clip.mjs";
import { ACTION_NAMES, Cursor, keysFor, Replay } from "./replayer.mjs";
import { fillTable, formatTime, row } from "./table.mjs";

const FPS = 60;
/** Frames emulated between two chances for the page to answer (seeking, checking). */
const SLICE = 1500;

const main = $("viewer");
const screen = /** @type {HTMLCanvasElement} */ ($("screen"));
const screenContext = /** @type {CanvasRenderingContext2D} */ (screen.getContext("2d"));
const seekBar = /** @type {HTMLInputElement} */ ($("seek"));
const playButton = /** @type {HTMLButtonElement} */ ($("play"));
const speedSelect = /** @type {HTMLSelectElement} */ ($("speed"));

const episodeId = decodeURIComponent(location.pathname.split("/").pop() ?? "");

/** @type {Replay} */
let replay;
/** @type {Cursor} the emulator whose frame is shown */
let view;
/** @type {any} the episode's verdict and details */
let info;
let playing = false;
let busy = false;
/** The frame a seek is heading for (null: none). */
let seekTarget = /** @type {number | null} */ (null);
/** Playing started at this frame and time (performance.now()). */
let playFrom = { frame: 0, time: 0 };

const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

async function loadEmulator() {
  const wasmUrl = new URL("../../build/ale.wasm", import.meta.url);
  const response = await fetch(wasmUrl);
  if (!response.ok) throw new Error(`cannot load ${wasmUrl}: HTTP ${response.status}`);
  return loadAle({ jsUrl: new URL("../../build/ale.js", import.meta.url).href, wasmBinary: await response.arrayBuffer() });
}

/** @param {string} url */
async function loadRom(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.status === 401) toSignIn();
  if (!response.ok) throw new Error(`cannot load the ROM (${url}): HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// -- drawing ------------------------------------------------------------------------------------

function draw() {
  const emu = view.emulator;
  const width = emu.screenWidth();
  const height = emu.screenHeight();
  if (screen.width !== width || screen.height !== height) Object.assign(screen, { width, height });
  const rgba = emu.screenRGBA();
  screenContext.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), width, height), 0, 0);
  showFrame();
}

function showFrame() {
  const frame = view.frame;
  seekBar.value = String(frame);
  main.dataset.frame = String(frame);
  $("frame-number").textContent = String(frame);
  $("frame-time").textContent = `${(frame / FPS).toFixed(2)} s`;
  const divergence = info.verdict?.divergence_frame ?? null;
  const result = replay.results.get(frame);
  const note = $("frame-note");
  note.className = "frame-note";
  if (divergence !== null && frame === divergence) {
    note.textContent = "the verifier's first divergent frame";
    note.classList.add("diverged");
  } else if (result) {
    note.textContent = result.match ? "checkpoint: matches" : "checkpoint: differs";
    note.classList.add(result.match ? "match" : "diverged");
  } else {
    note.textContent = "";
  }
  showPlayers();
}

function showPlayers() {
  const actions = replay.actionsOf(view.frame);
  const lives = view.emulator.lives();
  const rows = [];
  for (let p = 0; p < replay.players; p++) {
    const action = actions?.[p];
    const name = action === undefined ? "–" : element("span", "action", `${ACTION_NAMES[action]} (${action})`);
    rows.push(
      row(
        [replay.players === 1 ? "Player" : `Player ${"AB"[p]}`, name, action === undefined ? "–" : keysFor(action), formatNumber(view.rewards[p]), lives[p]],
        { player: String(p) },
      ),
    );
  }
  fillTable($("players-table"), ["", "Action", "Keys", "Reward so far", "Lives"], rows, "");
}

/** The checkpoints on the seek bar: green matched, red differing, grey not replayed yet. */
function drawMarks() {
  const marks = /** @type {HTMLCanvasElement} */ ($("marks"));
  const width = Math.max(200, Math.round(marks.clientWidth * devicePixelRatio));
  if (marks.width !== width) marks.width = width;
  const ctx = /** @type {CanvasRenderingContext2D} */ (marks.getContext("2d"));
  ctx.clearRect(0, 0, marks.width, marks.height);
  const x = (/** @type {number} */ frame) => Math.round((frame / Math.max(1, replay.frames)) * (marks.width - 1));
  const style = getComputedStyle(main);
  for (const frame of replay.checkpoints.keys()) {
    const result = replay.results.get(frame);
    ctx.fillStyle = style.getPropertyValue(result === undefined ? "--pending" : result.match ? "--match" : "--mismatch");
    const wide = result !== undefined && !result.match;
    ctx.fillRect(x(frame) - (wide ? 1 : 0), wide ? 0 : 4, wide ? 3 : 1, wide ? marks.height : marks.height - 4);
  }
  const divergence = info.verdict?.divergence_frame;
  const marker = $("divergence-marker");
  if (typeof divergence === "number") {
    marker.hidden = false;
    marker.style.left = `${(divergence / Math.max(1, replay.frames)) * 100}%`;
  }
}

function showCheckpoints(checked = replay.frames) {
  const total = replay.checkpoints.size;
  const done = replay.results.size;
  const mismatched = [...replay.results.values()].filter((r) => !r.match);
  const first = replay.firstMismatch();
  const summary = $("checkpoint-summary");
  summary.replaceChildren();
  if (checked < replay.frames) summary.append(`Replaying to compare… ${Math.floor((checked / Math.max(1, replay.frames)) * 100)}%. `);
  summary.append(`${done - mismatched.length} of ${total} checkpoints match`);
  if (first) {
    summary.append(`; ${mismatched.length} differ, the first at frame `);
    const jump = element("button", "link-button", String(first.frame));
    jump.dataset.action = "jump-mismatch";
    jump.addEventListener("click", () => seek(first.frame));
    summary.append(jump, ` (digest ${first.digest}, the log says ${first.expected.digest})`);
  }
  summary.append(".");
  summary.dataset.mismatches = String(mismatched.length);
  drawMarks();
}

function showVerdict() {
  const box = $("verdict");
  const v = info.verdict;
  box.replaceChildren();
  if (!v) {
    box.append(element("p", "verdict-status pending", info.status === "open" ? "Open: still being played" : "No verdict yet"));
    return;
  }
  box.dataset.status = v.status;
  box.append(element("p", `verdict-status ${v.status}`, v.status));
  box.append(element("p", "small", v.reason));
  if (typeof v.divergence_frame === "number") {
    const line = element("p", "divergence");
    line.append(`First divergent frame: `, element("b", undefined, String(v.divergence_frame)), " ");
    const jump = element("button", "small-button", `Jump to frame ${v.divergence_frame}`);
    jump.id = "jump-divergence";
    jump.addEventListener("click", () => seek(v.divergence_frame));
    line.append(jump);
    box.append(line);
  }
  const score = v.score?.length ? v.score.join(" : ") : "–";
  box.append(element("p", "small muted", `Verified score ${score}; ${v.verified_frames} of ${v.frames} frames covered by matching checkpoints.`));
}

function showDetails() {
  // One row per statistic, one column per agent (each player of a two-player game).
  const stats = /** @type {Record<string, Record<string, unknown>>} */ (info.statistics ?? {});
  const agents = Object.keys(stats);
  const keys = [...new Set(agents.flatMap((a) => Object.keys(stats[a])))];
  const cell = (/** @type {unknown} */ v) => (v === undefined ? "–" : typeof v === "number" ? formatNumber(v) : JSON.stringify(v));
  const rows = keys.map((key) => row([key, ...agents.map((a) => cell(stats[a][key]))]));
  fillTable($("stats-table"), ["Statistic", ...agents], rows, info.verdict ? "No statistics (kept for accepted and incomplete episodes only)." : "No verdict yet.");
  const env = replay.log.env;
  const task = info.task;
  const details = [
    ["Task", task ? `${task.title} (${info.task_id})` : `${info.task_id} (no longer in the tasks file)`],
    ["Game", `${env.game}, mode ${env.mode}, difficulty ${env.difficulty}, ${env.players} player${env.players > 1 ? "s" : ""}`],
    ["Sticky actions", String(env.repeat_action_probability)],
    ["Seed", String(replay.log.seed)],
    ["Frames", `${replay.frames} (${(replay.frames / FPS).toFixed(1)} s); checkpoint every ${replay.log.checkpoint_interval}`],
    ["End", replay.log.end ? `${replay.log.end.reason} at frame ${replay.log.end.frame}` : "none (a partial log)"],
    ["Participant", `${info.participant ?? "–"} (session ${info.session_id})`],
    ["Created", formatTime(info.created_at)],
    ["Flags", [info.duplicate_of && `duplicate of ${info.duplicate_of}`, info.excluded_reason && `excluded: ${info.excluded_reason}`, info.quality_met === false && "below the quality threshold"].filter(Boolean).join("; ") || "–"],
  ];
  fillTable($("info-table"), [], details.map(([k, v]) => row([k, v])), "");
  $("info-table").querySelector("thead")?.remove();
}

// -- moving -------------------------------------------------------------------------------------

/** Goes to `target` (emulating without drawing), then draws. @param {number} target */
async function seek(target) {
  seekTarget = Math.max(0, Math.min(replay.frames, Math.trunc(target)));
  if (busy) return; // the running seek picks the new target up
  busy = true;
  main.dataset.busy = "true";
  try {
    while (seekTarget !== null) {
      const goal = seekTarget;
      view.prepare(goal);
      while (!view.advanceToward(goal, SLICE) && seekTarget === goal) await yieldToPage();
      if (seekTarget === goal) seekTarget = null;
    }
    if (playing) playFrom = { frame: view.frame, time: performance.now() };
    draw();
  } finally {
    busy = false;
    main.dataset.busy = "false";
  }
}

/** @param {boolean} on */
function setPlaying(on) {
  playing = on && !view.atEnd;
  playButton.textContent = playing ? "Pause" : "Play";
  main.dataset.playing = String(playing);
  if (playing) {
    playFrom = { frame: view.frame, time: performance.now() };
    requestAnimationFrame(tick);
  }
}

/** One animation frame of playing: the frames due at the chosen speed, the last one drawn. */
function tick() {
  if (!playing) return;
  if (!busy) {
    const speed = Number(speedSelect.value);
    const due = playFrom.frame + Math.floor(((performance.now() - playFrom.time) / 1000) * FPS * speed);
    if (due > view.frame) {
      view.advanceToward(due, 4 * SLICE);
      draw();
    }
    if (view.atEnd) return setPlaying(false);
  }
  requestAnimationFrame(tick);
}

/** @param {number} delta */
function step(delta) {
  setPlaying(false);
  void seek(view.frame + delta);
}

/** The checker: the whole log replayed in slices while the page is idle. */
async function check(emulator) {
  const checker = new Cursor(replay, emulator);
  try {
    while (!checker.advanceToward(replay.frames, SLICE)) {
      showCheckpoints(checker.frame);
      await yieldToPage();
    }
  } finally {
    emulator.delete();
  }
  showCheckpoints();
  main.dataset.checked = "true";
}

// -- the clip -----------------------------------------------------------------------------------

/** @param {number} from @param {number} to */
async function exportClip(from, to) {
  const status = $("export-status");
  const button = /** @type {HTMLButtonElement} */ ($("export-button"));
  const clip = /** @type {HTMLCanvasElement} */ ($("clip-canvas"));
  const ctx = /** @type {CanvasRenderingContext2D} */ (clip.getContext("2d"));
  setPlaying(false);
  button.disabled = true;
  main.dataset.exporting = "true";
  try {
    if (!(to > from)) throw new Error("the clip's last frame must come after its first");
    const speed = Math.max(1, Number(speedSelect.value));
    status.textContent = `Recording frames ${from}–${to} at ${speed}×…`;
    await seek(from);
    const paint = () => {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(screen, 0, 0, clip.width, clip.height);
    };
    const blob = await recordWebm(clip, async (requestFrame) => {
      paint();
      requestFrame();
      const start = { frame: view.frame, time: performance.now() };
      while (view.frame < to) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const due = Math.min(to, start.frame + Math.floor(((performance.now() - start.time) / 1000) * FPS * speed));
        if (due > view.frame) {
          view.advanceToward(due);
          draw();
          paint();
          requestFrame();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100)); // the last frame's duration
    });
    download(blob, `${replay.log.episode_id}-frames-${from}-${to}.webm`);
    status.textContent = `Exported frames ${from}–${to}: ${(blob.size / 1024).toFixed(0)} KB of WebM.`;
  } catch (e) {
    status.textContent = `Could not export the clip: ${describe(e)}`;
  } finally {
    button.disabled = false;
    main.dataset.exporting = "false";
  }
}

// -- wiring -------------------------------------------------------------------------------------

function wire() {
  playButton.addEventListener("click", () => setPlaying(!playing));
  $("step-forward").addEventListener("click", () => step(1));
  $("step-back").addEventListener("click", () => step(-1));
  speedSelect.addEventListener("change", () => {
    playFrom = { frame: view.frame, time: performance.now() };
  });
  seekBar.addEventListener("input", () => void seek(Number(seekBar.value)));
  $("goto-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = /** @type {HTMLInputElement} */ ($("frame-input")).valueAsNumber;
    if (Number.isFinite(value)) void seek(value);
  });
  $("clip-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = /** @type {HTMLInputElement} */ ($("clip-from")).valueAsNumber;
    const to = /** @type {HTMLInputElement} */ ($("clip-to")).valueAsNumber;
    void exportClip(Math.max(0, from), Math.min(replay.frames, to));
  });
  document.addEventListener("keydown", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target.closest("input, select, textarea, button")) return;
    if (event.code === "Space") setPlaying(!playing);
    else if (event.code === "ArrowRight") step(1);
    else if (event.code === "ArrowLeft") step(-1);
    else return;
    event.preventDefault();
  });
  window.addEventListener("resize", drawMarks);
  $("signout-button").addEventListener("click", async () => {
    try {
      await post("/research/signout");
    } finally {
      toSignIn();
    }
  });
}

async function start() {
  $("episode-id").textContent = episodeId;
  document.title = `CrowdPlay — episode ${episodeId}`;
  const body = await call(`/research/api/episodes/${encodeURIComponent(episodeId)}`);
  info = body.episode;
  replay = new Replay(body.log);
  const [module, rom] = await Promise.all([loadEmulator(), loadRom(info.rom_url)]);
  const settings = { romBytes: rom, env: replay.log.env, seed: replay.log.seed };
  view = new Cursor(replay, createEmulator(module, settings));
  const checker = createEmulator(module, settings);

  const v = info.verdict;
  $("episode-summary").textContent = `${info.task?.title ?? info.task_id} · ${replay.log.env.game} · ${v ? v.status : info.status}`;
  $("frame-count").textContent = String(replay.frames);
  seekBar.max = String(replay.frames);
  /** @type {HTMLInputElement} */ ($("frame-input")).max = String(replay.frames);
  /** @type {HTMLInputElement} */ ($("clip-from")).value = "0";
  /** @type {HTMLInputElement} */ ($("clip-to")).value = String(Math.min(replay.frames, 300));
  if (webmType() === null) {
    /** @type {HTMLButtonElement} */ ($("export-button")).disabled = true;
    $("export-status").textContent = "This browser cannot record WebM.";
  }
  showVerdict();
  showDetails();
  showCheckpoints(0);
  draw();
  wire();
  main.dataset.busy = "false";
  main.dataset.ready = "true";
  await check(checker);
}

start().catch((e) => {
  $("problem").textContent = `Could not open the episode: ${describe(e)}`;
  $("problem").hidden = false;
  main.dataset.busy = "false";
});
