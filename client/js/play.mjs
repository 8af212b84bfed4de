// The play page (client/play.html, `/play/<task_id>`): its entry point, and the play view.
//
// The page shows the task and how long it takes, checks for a keyboard on touch-only devices,
// shows MTurk's preview or opens the session (session.mjs: consent and instructions first for a
// new one, intro.mjs) and plays it; a finished session shows the end page (end.mjs). The play view
// draws the emulator's frames on the canvas: the emulator runs in a module worker
// (emulator.worker.mjs), and the view forwards the keyboard and the tab's visibility to it, its
// chunks and game overs to the session, and shows the score, the connection, the notices over the
// game, the live incentive panel (panel.mjs) and the Finish and problem-report dialogs
// (dialogs.mjs). While it shows, game keys never scroll the page and Space or Enter never press a
// button of the page (Finish is pressed with the pointer, or Esc opens its confirmation). The
// page's state for tests is `window.crowdplay` (debug.mjs).
import { listTasks } from "./api.mjs";
import { playDebug } from "./debug.mjs";
import { FinishConfirmation, askPlayOnAlone, wireProblemReport } from "./dialogs.mjs";
import { $, describe, showSection } from "./dom.mjs";
import { showEnd } from "./end.mjs";
import { consent, instructions, keyboardGate, preview, showEstimate } from "./intro.mjs";
import { Keyboard } from "./keyboard.mjs";
import { Panel } from "./panel.mjs";
import { retrying } from "./retry.mjs";
import { loadPartner, partnerLabel, seatLabel, showsPartnerScore } from "./seats.mjs";
import { Session, completion, openSession, platformOf } from "./session.mjs";

/** @typedef {import("./api.mjs").Task} Task */
/** @typedef {import("./debug.mjs").PlayDebug} PlayDebug */
/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */
/** @typedef {import("./messages").MainToWorker} MainToWorker */
/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").ResumeFrom} ResumeFrom */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */
/** @typedef {import("./messages").WorkerToMain} WorkerToMain */
/** @typedef {import("./messages").EpisodeListener} EpisodeListener */
/** @typedef {import("./messages").EpisodeView} EpisodeView */
/** @typedef {import("./messages").PartnerSpec} PartnerSpec */

const MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE";
const FRAME_MS = 1000 / 60;
/**
 * Two-player play's network figures for the tests (docs/two-players.md): per key press the
 * time from the key event to the frame emulated with it (in frame periods) and the frames it
 * waited (1: the next frame), rollbacks and their mean depth, stalls. Exposed read-only
 * (copies) as `window.crowdplayNetStats`.
 */
const netStats = {
  /** @type {number[]} */
  latencies: [],
  /** @type {number[]} */
  frameDelays: [],
  /** @type {number[]} */
  pageFrameDelays: [],
  rollbacks: 0, meanDepth: 0, maxDepth: 0, stalls: 0, stalledTicks: 0, resyncs: 0, frames: 0, confirmed: 0, waiting: false,
};
Object.defineProperty(window, "crowdplayNetStats", { get: () => structuredClone(netStats) });
const MAX_KEY_LATENCIES = 2000;
/** How long a two-player stall lasts before "Waiting for your partner…" shows. */
const STALL_NOTICE_MS = 500;
/** Keys that press a focused button: never while the play view shows (Space is also "fire"). */
const BUTTON_KEYS = new Set(["Space", "Enter", "NumpadEnter"]);

/**
 * The game on the canvas, the emulator behind it, the keyboard, the notices and the panel.
 * @implements {EpisodeView}
 */
class PlayView {
  /**
   * @param {Task} task
   * @param {object} options
   * @param {TreatmentSummary | null} options.terms the session's treatment
   * @param {string} options.token
   * @param {PlayDebug} options.debug
   * @param {(message: string) => void} options.fail shows that the page cannot go on
   * @param {PartnerSpec | null} [options.partner] the task's AI partner, if it has one
   */
  constructor(task, { terms, token, debug, fail, partner = null }) {
    this.debug = debug;
    this.partner = partner;
    /** Whether the partner's failure was told (once per page). */
    this._partnerFailureShown = false;
    this.fail = fail;
    /** @type {string | null} the episode the emulator was last asked to play */
    this.episodeId = null;
    /** @type {EpisodeListener | null} */
    this.listener = null;
    /** @type {((started: boolean) => void) | null} */
    this._onStart = null;
    this.ended = false;
    this.partnerHidden = false;
    /** This participant's seat (player A: 0; two players: the grant's seat). */
    this.seat = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._stallTimer = null;
    this._stallNotice = false;

    const canvas = /** @type {HTMLCanvasElement} */ ($("screen"));
    this.screen = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    this.worker = new Worker(new URL("./emulator.worker.mjs", import.meta.url), { type: "module" });
    this.worker.onmessage = (/** @type {MessageEvent<WorkerToMain>} */ e) => this.onWorker(e.data);
    this.worker.onerror = (e) => fail(`The game could not start: ${e.message}`);
    const shown = () => !$("play").hidden;
    this.keyboard = new Keyboard(
      window,
      (change) => this.send({ type: "keys", held: change.held, key: change.key, down: change.down, atMs: change.atMs, pageMs: performance.timeOrigin + performance.now() }),
      shown,
    );
    this._guard = (/** @type {KeyboardEvent} */ e) => this.guardKeys(e);
    window.addEventListener("keydown", this._guard, true);
    window.addEventListener("keyup", this._guard, true);
    document.addEventListener("visibilitychange", () => this.send({ type: "visibility", hidden: document.hidden }));
    $("play-controls").textContent = `${task.controls} Esc to finish.`;
    this.finishButton = /** @type {HTMLButtonElement} */ ($("finish-button"));
    this.panel = new Panel($("panel"), {
      session: task.session,
      terms,
      onTimeUp: () => this.listener?.timeUp(),
    });
    this.confirmation = new FinishConfirmation({
      panel: this.panel,
      terms,
      onConfirm: () => this.listener?.finish(),
    });
    this.finishButton.addEventListener("click", () => this.confirmation.open());
    wireProblemReport(token);
  }

  /**
   * While the play view shows: Space and Enter press no button outside the dialogs (Space is the
   * game's; the Keyboard takes it, and keeps game keys from scrolling), and Esc asks to finish.
   * @param {KeyboardEvent} e
   */
  guardKeys(e) {
    if (this.ended || $("play").hidden) return;
    const target = e.target instanceof Element ? e.target : null;
    if (target?.closest("dialog, input, textarea, select")) return;
    if (BUTTON_KEYS.has(e.code)) e.preventDefault();
    if (e.code === "Escape" && e.type === "keydown" && !this.finishButton.disabled) {
      e.preventDefault();
      this.confirmation.open();
    }
  }

  /**
   * Two players: a relay message for the worker's rollback session.
   * @param {import("./messages").RelayIncoming} message
   */
  relayIn(message) {
    this.send({ type: "relay", message });
  }

  /** @param {boolean} hidden the partner's tab was hidden or shown */
  partnerPaused(hidden) {
    this.partnerHidden = hidden;
    this.notice(hidden ? "Your partner's tab is hidden — the game waits for them" : null);
  }

  /** @param {"partner_left" | "ended_by_participant"} reason */
  partnerLeft(reason) {
    this.send({ type: "partner-left", reason });
  }

  askPlayOnAlone() {
    return askPlayOnAlone();
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
    const partner = grant.env.players === 2 ? this.partner : null;
    this.seat = /** @type {{seat?: number}} */ (grant).seat ?? (partner === null ? 0 : 1 - partner.seat);
    const pair = grant.env.players === 2;
    $("seat").hidden = !pair;
    $("seat").textContent = pair ? seatLabel(grant.env.game, this.seat) : "";
    $("partner").hidden = partner === null;
    $("partner").textContent = partner === null ? "" : partnerLabel(grant.env.game, partner);
    $("partner-score-line").hidden = !pair || !showsPartnerScore(grant.env.game);
    this.debug.episodeId = grant.episode_id;
    this.debug.frame = 0;
    this.debug.score = [0];
    return new Promise((resolve) => {
      this._onStart = resolve;
      this.send({ type: "start", episode: grant, resume, hidden: document.hidden, ...(partner === null ? {} : { partner }) });
    });
  }

  finishEpisode() {
    if (!this.keyboard.enabled) return false; // between episodes
    this.send({ type: "finish" });
    return true;
  }

  ending() {
    this.finishButton.disabled = true;
    this.confirmation.close();
  }

  stop() {
    this.send({ type: "stop" });
    this.keyboard.enabled = false;
  }

  close() {
    this.ended = true;
    this.keyboard.detach();
    window.removeEventListener("keydown", this._guard, true);
    window.removeEventListener("keyup", this._guard, true);
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
    $("connection").hidden = connected;
    this.panel.setCurrent(connected);
    this.debug.connected = connected;
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
      case "relay":
        this.listener?.relay?.(message.message);
        break;
      case "partner":
        this.debug.partner = message.stats;
        if (message.stats.error !== null && !this._partnerFailureShown) {
          this._partnerFailureShown = true;
          console.error("crowdplay: AI partner:", message.stats.error);
          this.notice(`Your AI partner could not start (${message.stats.error}): it stands still. Play on, or Finish.`);
          setTimeout(() => this.notice(null), 5000);
        }
        break;
      case "net":
        this.stalled(message.waiting);
        Object.assign(netStats, {
          rollbacks: message.stats.rollbacks, meanDepth: message.stats.meanDepth, maxDepth: message.stats.maxDepth,
          stalls: message.stats.stalls, stalledTicks: message.stats.stalledTicks, resyncs: message.stats.resyncs,
          frames: message.stats.frames, confirmed: message.stats.confirmed, waiting: message.waiting,
        });
        break;
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
        if (netStats.latencies.length >= MAX_KEY_LATENCIES) netStats.latencies.shift();
        netStats.latencies.push((message.appliedMs - message.eventMs) / FRAME_MS);
        if (message.frames !== undefined && message.pageFrames !== undefined) {
          if (netStats.frameDelays.length >= MAX_KEY_LATENCIES) netStats.frameDelays.shift();
          if (netStats.pageFrameDelays.length >= MAX_KEY_LATENCIES) netStats.pageFrameDelays.shift();
          netStats.frameDelays.push(message.frames);
          netStats.pageFrameDelays.push(message.pageFrames);
        }
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

  /**
   * Two players: the game stalls for the partner's actions. A short stall (the network's jitter)
   * shows nothing; one longer than STALL_NOTICE_MS says "Waiting for your partner…".
   * @param {boolean} waiting
   */
  stalled(waiting) {
    if (waiting && this._stallTimer === null) {
      this._stallTimer = setTimeout(() => {
        this._stallNotice = true;
        if (!this.partnerHidden) this.notice("Waiting for your partner…");
      }, STALL_NOTICE_MS);
    } else if (!waiting) {
      if (this._stallTimer !== null) clearTimeout(this._stallTimer);
      this._stallTimer = null;
      if (this._stallNotice && !this.partnerHidden) this.notice(null);
      this._stallNotice = false;
    }
  }

  /** @param {number} frame @param {number[]} score every player's score; this seat's is shown */
  showScore(frame, score) {
    this.debug.frame = frame;
    this.debug.score = score;
    $("score").textContent = String(score[this.seat] ?? score[0]);
    if (score.length === 2) $("partner-score").textContent = String(score[1 - this.seat]);
  }
}

// ---- Main -----------------------------------------------------------------------------------

/**
 * What a network step before play is waiting for, under "Loading…" or the step's button.
 * @param {string | null} text
 */
function status(text) {
  const line = $("network-status");
  line.hidden = text === null;
  line.textContent = text ?? "";
}

/** @param {PlayDebug} debug */
async function main(debug) {
  const parts = location.pathname.split("/").filter(Boolean);
  const taskId = decodeURIComponent(parts[parts.length - 1] ?? "");
  const params = new URLSearchParams(location.search);
  const tasks = await retrying(listTasks, { status, doing: "Loading the task" });
  status(null);
  const task = tasks.find((t) => t.id === taskId);
  if (task === undefined) throw new Error(`There is no task "${taskId}".`);
  $("task-title").textContent = task.title;
  $("task-description").textContent = task.description;
  document.title = `${task.title} — CrowdPlay`;
  showEstimate(task);

  if (params.get("assignmentId") === MTURK_PREVIEW) return preview(task, debug);

  await keyboardGate(debug);
  const { token, state } = await openSession(task, params, {
    consent: () => consent(task, platformOf(params), debug),
    instructions: (opened) => instructions(task, opened, debug),
    status,
  });
  status(null);
  const treatment = state.treatment ?? null;
  debug.treatment = treatment;
  const context = { taskId, token, treatment, debug, progress: null, platform: platformOf(params) };
  if (state.finished) return showEnd(await completion(taskId, token, status), { ...context, timeUp: false });

  const partner = await loadPartner(task, status);
  status(null);
  const view = new PlayView(task, { terms: treatment, token, debug, partner, fail: (message) => fail(debug, message) });
  const session = new Session(view, {
    taskId,
    token,
    debug,
    onFinished: (result, timeUp) => showEnd(result, { ...context, timeUp, progress: view.panel.report?.progress ?? null }),
    onFailed: (e) => fail(debug, describe(e)),
    twoPlayers: task.players === 2 && partner === null,
  });
  $("time-estimate").hidden = true;
  showSection("play");
  debug.phase = "playing";
  await session.begin(state);
}

/**
 * The page cannot go on: says why, and offers a reload (which resumes the session).
 * @param {PlayDebug} debug
 * @param {string} message
 */
function fail(debug, message) {
  debug.phase = "failed";
  $("failure-message").textContent = message;
  showSection("failure");
}

const debug = playDebug();
$("reload-button").addEventListener("click", () => location.reload());
main(debug).catch((e) => fail(debug, describe(e)));
