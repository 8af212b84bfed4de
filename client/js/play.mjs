// The play page (client/play.html, `/play/<task_id>`): its entry point, and the play view.
//
// The page shows the task (or only a preview, for MTurk's), opens the session (session.mjs:
// consent and instructions first for a new one) and plays it; a finished session shows the end
// page (end.mjs). The play view draws the emulator's frames on the canvas: the emulator runs in a
// module worker (emulator.worker.mjs), and the view forwards the keyboard and the tab's
// visibility to it, its chunks and game overs to the session, and shows the score, the notices
// over the game and the live incentive panel (panel.mjs). The page's state for tests is
// `window.crowdplay` (debug.mjs).
import { listTasks } from "./api.mjs";
import { playDebug } from "./debug.mjs";
import { $, describe, showSection } from "./dom.mjs";
import { showEnd } from "./end.mjs";
import { Keyboard } from "./keyboard.mjs";
import { Panel } from "./panel.mjs";
import { Session, completion, openSession } from "./session.mjs";

/** @typedef {import("./api.mjs").Task} Task */
/** @typedef {import("./debug.mjs").PlayDebug} PlayDebug */
/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */
/** @typedef {import("./messages").MainToWorker} MainToWorker */
/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").ResumeFrom} ResumeFrom */
/** @typedef {import("./messages").WorkerToMain} WorkerToMain */
/** @typedef {import("./messages").EpisodeListener} EpisodeListener */
/** @typedef {import("./messages").EpisodeView} EpisodeView */

const MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE";
const MAX_KEY_LATENCIES = 2000;

/**
 * The game on the canvas, the emulator behind it, the keyboard, the notices and the panel.
 * @implements {EpisodeView}
 */
class PlayView {
  /**
   * @param {Task} task
   * @param {PlayDebug} debug
   * @param {(message: string) => void} fail shows that the page cannot go on
   */
  constructor(task, debug, fail) {
    this.debug = debug;
    this.fail = fail;
    /** @type {string | null} the episode the emulator was last asked to play */
    this.episodeId = null;
    /** @type {EpisodeListener | null} */
    this.listener = null;
    /** @type {((started: boolean) => void) | null} */
    this._onStart = null;

    const canvas = /** @type {HTMLCanvasElement} */ ($("screen"));
    this.screen = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    this.worker = new Worker(new URL("./emulator.worker.mjs", import.meta.url), { type: "module" });
    this.worker.onmessage = (/** @type {MessageEvent<WorkerToMain>} */ e) => this.onWorker(e.data);
    this.worker.onerror = (e) => fail(`The game could not start: ${e.message}`);
    this.keyboard = new Keyboard(window, (change) =>
      this.send({ type: "keys", held: change.held, key: change.key, down: change.down, atMs: change.atMs }),
    );
    document.addEventListener("visibilitychange", () => this.send({ type: "visibility", hidden: document.hidden }));
    const finishButton = /** @type {HTMLButtonElement} */ ($("finish-button"));
    finishButton.addEventListener("click", () => {
      finishButton.disabled = true;
      this.listener?.finish();
    });
    this.panel = new Panel($("panel"), {
      session: task.session,
      onTimeUp: () => {
        finishButton.disabled = true;
        this.listener?.timeUp();
      },
    });
  }

  /** @param {EpisodeListener} listener */
  listen(listener) {
    this.listener = listener;
  }

  /** @param {MainToWorker} message */
  send(message) {
    this.worker.postMessage(message);
  }

  /**
   * @param {EpisodeGrant} grant
   * @param {ResumeFrom} [resume]
   * @returns {Promise<boolean>}
   */
  play(grant, resume) {
    this.episodeId = grant.episode_id;
    this.debug.episodeId = grant.episode_id;
    this.debug.frame = 0;
    this.debug.score = [0];
    return new Promise((resolve) => {
      this._onStart = resolve;
      this.send({ type: "start", episode: grant, resume, hidden: document.hidden });
    });
  }

  finishEpisode() {
    if (!this.keyboard.enabled) return false; // between episodes
    this.send({ type: "finish" });
    return true;
  }

  stop() {
    this.send({ type: "stop" });
    this.keyboard.enabled = false;
  }

  close() {
    this.keyboard.detach();
    this.worker.terminate();
    this.debug.episodeId = null;
  }

  /** @param {string | null} text */
  notice(text) {
    const notice = $("notice");
    notice.hidden = text === null;
    notice.textContent = text ?? "";
  }

  /** @param {boolean} connected */
  connection(connected) {
    $("connection").textContent = connected ? "" : "Reconnecting…";
  }

  /**
   * @param {ProgressReport} report
   * @param {string | null} episodeId
   * @param {number} frame
   */
  progress(report, episodeId, frame) {
    this.debug.progress = report;
    this.panel.update(report, episodeId, frame);
    this.debug.playedSeconds = this.panel.playedSeconds;
  }

  /** @param {WorkerToMain} message */
  onWorker(message) {
    if (message.type !== "paused" && message.episodeId !== this.episodeId) return;
    switch (message.type) {
      case "started":
        this.keyboard.enabled = true;
        this.showScore(message.frame, message.score);
        this._started(true);
        break;
      case "frame":
        this.screen.putImageData(new ImageData(new Uint8ClampedArray(message.pixels), message.width, message.height), 0, 0);
        this.showScore(message.frame, message.score);
        this.panel.tick(message.episodeId, message.frame);
        this.debug.playedSeconds = this.panel.playedSeconds;
        break;
      case "chunk":
        this.listener?.chunk(message.chunk);
        break;
      case "ended":
        this.keyboard.enabled = false;
        this.showScore(message.end.frame, message.score);
        this.listener?.ended(message);
        break;
      case "paused":
        this.debug.paused = message.paused;
        this.notice(message.paused ? "Paused while this tab is hidden" : null);
        break;
      case "key-applied":
        if (this.debug.keyLatencies.length >= MAX_KEY_LATENCIES) this.debug.keyLatencies.shift();
        this.debug.keyLatencies.push({
          episodeId: message.episodeId, key: message.key, down: message.down, frame: message.frame,
          eventMs: message.eventMs, appliedMs: message.appliedMs, latencyMs: message.appliedMs - message.eventMs,
        });
        break;
      case "error":
        if (message.phase === "resume" && this._onStart !== null) this._started(false);
        else this.fail(`The game stopped: ${message.message}`);
        break;
    }
  }

  /** @param {boolean} started */
  _started(started) {
    this._onStart?.(started);
    this._onStart = null;
  }

  /** @param {number} frame @param {number[]} score */
  showScore(frame, score) {
    this.debug.frame = frame;
    this.debug.score = score;
    $("score").textContent = String(score[0]);
  }
}

// ---- Consent and instructions ---------------------------------------------------------------

/**
 * Resolves when the participant consents.
 * @param {PlayDebug} debug
 * @returns {Promise<void>}
 */
function consent(debug) {
  debug.phase = "consent";
  showSection("consent");
  const check = /** @type {HTMLInputElement} */ ($("consent-check"));
  const button = /** @type {HTMLButtonElement} */ ($("consent-button"));
  check.addEventListener("change", () => (button.disabled = !check.checked));
  return new Promise((resolve) => button.addEventListener("click", () => resolve(), { once: true }));
}

/**
 * Resolves when the participant has read the task's instructions and starts.
 * @param {Task} task
 * @param {PlayDebug} debug
 * @returns {Promise<void>}
 */
function instructions(task, debug) {
  debug.phase = "instructions";
  // Task instructions are written by the researcher who configured the task (trusted HTML).
  $("instructions-body").innerHTML = task.instructions_html;
  showSection("instructions");
  const button = $("start-button");
  return new Promise((resolve) => button.addEventListener("click", () => (button.blur(), resolve()), { once: true }));
}

// ---- Main -----------------------------------------------------------------------------------

/** @param {PlayDebug} debug */
async function main(debug) {
  const parts = location.pathname.split("/").filter(Boolean);
  const taskId = decodeURIComponent(parts[parts.length - 1] ?? "");
  const params = new URLSearchParams(location.search);
  const task = (await listTasks()).find((t) => t.id === taskId);
  if (task === undefined) throw new Error(`There is no task "${taskId}".`);
  $("task-title").textContent = task.title;
  $("task-description").textContent = task.description;
  document.title = `${task.title} — CrowdPlay`;

  if (params.get("assignmentId") === MTURK_PREVIEW) {
    debug.phase = "preview";
    $("preview-instructions").innerHTML = task.instructions_html;
    showSection("preview");
    return;
  }

  const { token, state } = await openSession(task, params, {
    consent: () => consent(debug),
    instructions: () => instructions(task, debug),
  });
  const treatment = state.treatment ?? null;
  debug.treatment = treatment;
  const context = { taskId, token, treatment, debug };
  if (state.finished) return showEnd(await completion(taskId, token), { ...context, timeUp: false });

  const view = new PlayView(task, debug, (message) => fail(debug, message));
  const session = new Session(view, {
    taskId,
    token,
    debug,
    onFinished: (result, timeUp) => showEnd(result, { ...context, timeUp }),
  });
  showSection("play");
  debug.phase = "playing";
  await session.begin(state);
}

/**
 * The page cannot go on: says why.
 * @param {PlayDebug} debug
 * @param {string} message
 */
function fail(debug, message) {
  debug.phase = "failed";
  $("failure-message").textContent = message;
  showSection("failure");
}

const debug = playDebug();
main(debug).catch((e) => fail(debug, describe(e)));
