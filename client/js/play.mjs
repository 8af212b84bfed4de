// The play page (client/play.html): consent, instructions, the play view and the end page.
//
// The emulator runs in a module worker (emulator.worker.mjs); this module draws its frames,
// forwards the keyboard and the tab's visibility to it, streams its chunks to the server
// (stream.mjs) and drives the session through the HTTP protocol (docs/protocol.md): a new
// episode after each game over, resume after a reload, the completion page after Finish. The
// live incentive panel (panel.mjs) follows the server's progress messages; when the session's
// time is played, the session finishes as if Finish had been pressed.
import { ApiError, listTasks, request, tokenStore } from "./api.mjs";
import { Keyboard } from "./keyboard.mjs";
import { Panel, formatMoney, itemText } from "./panel.mjs";
import { EpisodeStream, forgetStoredChunks, storedChunks, webSocketUrl } from "./stream.mjs";

/** @typedef {import("./api.mjs").Task} Task */
/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */
/** @typedef {import("./messages").WorkerToMain} WorkerToMain */
/** @typedef {import("./messages").MainToWorker} MainToWorker */
/** @typedef {import("./messages").ResumeFrom} ResumeFrom */
/** @typedef {import("./messages").Chunk} Chunk */
/** @typedef {import("./stream.mjs").Verdict} Verdict */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */
/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").SessionScore} SessionScore */
/** @typedef {import("./messages").Progress} Progress */

/**
 * @typedef {object} OpenEpisode
 * @property {string} episode_id
 * @property {number} next_seq
 * @property {number} frames
 *
 * @typedef {object} SessionState GET /api/session
 * @property {string} session_id
 * @property {Task} task
 * @property {boolean} finished
 * @property {TreatmentSummary | null} treatment
 * @property {OpenEpisode | null} open_episode
 *
 * @typedef {object} FinishResult POST /api/session/finish
 * @property {string} completion_code
 * @property {"mturk" | "prolific" | "email" | "social" | "lab" | "anonymous"} platform
 * @property {{url: string, fields?: Record<string, string>} | null} submit
 *
 * @typedef {object} EndContext what the end page needs beside the finish result
 * @property {string} taskId
 * @property {string} token
 * @property {TreatmentSummary | null} treatment
 * @property {boolean} timeUp the session ended because its time was played
 */

const LOG_FORMAT = "crowdplay.episode/1";
/** URL parameters passed to POST /api/sessions as `platform` (`source`: email, social or lab). */
const PLATFORM_PARAMS = [
  "workerId", "assignmentId", "hitId", "turkSubmitTo", "PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "source",
];
const MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE";
const GAME_OVER_NOTICE_MS = 2000;
/** How long a finished episode's socket stays open for its verdict. */
const VERDICT_WAIT_MS = 60_000;
const MAX_KEY_LATENCIES = 2000;
/** How often the end page asks whether the session is settled (GET /api/session/score). */
const SCORE_POLL_MS = 2000;

// ---- The test and debug surface -------------------------------------------------------------
// `window.crowdplay` is a read-only view of the play state for end-to-end tests and for
// debugging in the console. It is not an API: nothing in the page reads it back.
//   score        cumulative reward per player of the current episode, as shown
//   frame        frames emulated in the current episode
//   episodeId    the current episode, or null
//   paused       whether the emulator is paused (hidden tab)
//   verdicts     every verdict received: {episodeId, status, score, reason}
//   episodes     every episode ended in this page: {episodeId, score, frames, reason}
//   keyLatencies per key change: {episodeId, key, down, frame, eventMs, appliedMs, latencyMs}
//                (eventMs: the key event, appliedMs: when the worker emulated `frame`, epoch ms)
//   resumed      {episodeId, frames} when this page load resumed an episode, else null
//   phase        "loading" | "preview" | "consent" | "instructions" | "playing" | "game-over" |
//                "finishing" | "finished" | "failed"
//   treatment    the session's treatment summary (POST /api/sessions), or null
//   progress     the last progress report the panel shows (a WebSocket `progress` message, or
//                GET /api/session/progress before the first one), or null
//   playedSeconds the panel's session timer (interpolated between reports)
//   timeUp       whether the session finished because its time was played
//   payment      on the end page, the settled session's `payment` once GET /api/session/score
//                answered (undefined before; null for a task without treatments)
//   raffle       "stored" once the raffle form was accepted, else null
const debug = {
  /** @type {number[]} */ score: [0],
  frame: 0,
  /** @type {string | null} */ episodeId: null,
  paused: false,
  /** @type {object[]} */ verdicts: [],
  /** @type {object[]} */ episodes: [],
  /** @type {object[]} */ keyLatencies: [],
  /** @type {{episodeId: string, frames: number} | null} */ resumed: null,
  phase: "loading",
  /** @type {TreatmentSummary | null} */ treatment: null,
  /** @type {ProgressReport | null} */ progress: null,
  playedSeconds: 0,
  timeUp: false,
  /** @type {Progress | null | undefined} */ payment: undefined,
  /** @type {string | null} */ raffle: null,
};
Object.defineProperty(window, "crowdplay", {
  value: Object.freeze({
    get score() { return [...debug.score]; },
    get frame() { return debug.frame; },
    get episodeId() { return debug.episodeId; },
    get paused() { return debug.paused; },
    get verdicts() { return debug.verdicts.map((v) => ({ ...v })); },
    get episodes() { return debug.episodes.map((e) => ({ ...e })); },
    get keyLatencies() { return debug.keyLatencies.map((k) => ({ ...k })); },
    get resumed() { return debug.resumed; },
    get phase() { return debug.phase; },
    get treatment() { return debug.treatment === null ? null : { ...debug.treatment }; },
    get progress() { return debug.progress === null ? null : structuredClone(debug.progress); },
    get playedSeconds() { return debug.playedSeconds; },
    get timeUp() { return debug.timeUp; },
    get payment() { return debug.payment == null ? debug.payment : structuredClone(debug.payment); },
    get raffle() { return debug.raffle; },
  }),
});

// ---- Page helpers ---------------------------------------------------------------------------

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const SECTIONS = ["loading", "failure", "preview", "consent", "instructions", "play", "end"];

/** Shows one section of the page. @param {string} id */
function show(id) {
  for (const section of SECTIONS) $(section).hidden = section !== id;
}

/** @param {string} message */
function fail(message) {
  debug.phase = "failed";
  $("failure-message").textContent = message;
  show("failure");
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {unknown} e */
const describe = (e) => (e instanceof Error ? e.message : String(e));

// ---- Play -----------------------------------------------------------------------------------

/** Plays episodes one after the other until the participant presses Finish. */
class Player {
  /**
   * @param {Task} task
   * @param {string} token
   * @param {TreatmentSummary | null} treatment
   */
  constructor(task, token, treatment) {
    this.taskId = task.id;
    this.token = token;
    this.treatment = treatment;
    this.timeUp = false;
    /** @type {EpisodeGrant | null} the episode being played */
    this.grant = null;
    /** @type {EpisodeStream | null} its stream */
    this.stream = null;
    this.finishing = false;
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
    $("finish-button").addEventListener("click", () => this.finish());
    this.panel = new Panel($("panel"), { session: task.session, onTimeUp: () => this.onTimeUp() });
    this.gotProgress = false;
  }

  /** @param {MainToWorker} message */
  send(message) {
    this.worker.postMessage(message);
  }

  /** @param {SessionState} session */
  async begin(session) {
    show("play");
    debug.phase = "playing";
    void this.loadProgress(session.open_episode);
    forgetStoredChunks(session.open_episode?.episode_id ?? null);
    if (session.open_episode !== null && (await this.resume(session.open_episode))) return;
    await this.newEpisode();
  }

  /**
   * The session's progress so far (GET /api/session/progress), until the first progress message.
   * It stands at the open episode's stored frames (the server's live values cover those).
   * @param {OpenEpisode | null} open
   */
  async loadProgress(open) {
    try {
      /** @type {ProgressReport} */
      const report = await request("/api/session/progress", { token: this.token });
      if (this.gotProgress) return; // a newer report came over the WebSocket
      this.showProgress(report, open?.episode_id ?? null, open?.frames ?? 0);
    } catch (e) {
      console.warn("crowdplay: no progress yet:", e); // the first progress message will show it
    }
  }

  /**
   * @param {ProgressReport} report
   * @param {string | null} episodeId the episode the report's frame count belongs to
   * @param {number} frame
   */
  showProgress(report, episodeId, frame) {
    debug.progress = report;
    this.panel.update(report, episodeId, frame);
    debug.playedSeconds = this.panel.playedSeconds;
  }

  /** The session's time is played: end the game and finish, as the Finish button does. */
  onTimeUp() {
    if (this.finishing) return;
    this.timeUp = true;
    debug.timeUp = true;
    this.notice("Time is up");
    this.finish();
  }

  /** The notice while the last game is saved. */
  savingNotice() {
    return this.timeUp ? "Time is up — saving your game…" : "Saving your game…";
  }

  async newEpisode() {
    if (this.finishing) return this.finishSession();
    this.notice(null);
    /** @type {EpisodeGrant} */
    const grant = await request("/api/episodes", { method: "POST", token: this.token, body: {} });
    this.openStream(grant, 0, []);
    await this.startWorker(grant, undefined);
  }

  /**
   * Continues an episode left open by an earlier page load: its log from the server plus the
   * chunks this tab had not got acknowledged, replayed in the worker without rendering.
   * @param {OpenEpisode} open
   * @returns {Promise<boolean>} false when it could not be resumed (a new episode follows)
   */
  async resume(open) {
    const id = open.episode_id;
    try {
      const log = await request(`/api/episodes/${encodeURIComponent(id)}/log`, { token: this.token });
      if (log.format !== LOG_FORMAT) throw new Error(`unsupported log format ${log.format}`);
      if (log.env.players !== 1) throw new Error("only one-player episodes are resumed");
      /** @type {number[]} */
      const actions = [...log.actions[0]];
      const checkpoints = [...log.checkpoints];
      /** @type {Chunk[]} */
      const pending = [];
      for (const chunk of storedChunks(id)) {
        if (chunk.seq < open.next_seq) continue;
        if (chunk.seq !== open.next_seq + pending.length || chunk.start !== actions.length) break;
        pending.push(chunk);
        actions.push(...chunk.actions[0]);
        checkpoints.push(...chunk.checkpoints);
      }
      const interval = log.checkpoint_interval ?? 60;
      // GET /api/session's open_episode does not repeat the grant: rebuild it from the log and
      // the protocol's fixed routes.
      /** @type {EpisodeGrant} */
      const grant = {
        episode_id: id,
        seed: log.seed,
        env: log.env,
        checkpoint_interval: interval,
        max_chunk_frames: interval,
        rom_url: `/api/roms/${encodeURIComponent(log.env.game)}`,
        ws_url: `/ws/episodes/${encodeURIComponent(id)}`,
      };
      if (pending.some((c) => c.end !== null)) {
        // The episode had ended; only its last chunks were not stored yet.
        const stream = this.openStream(grant, open.next_seq, pending);
        await stream.drained();
        return false;
      }
      this.openStream(grant, open.next_seq, pending);
      const started = await this.startWorker(grant, { actions: [actions], checkpoints });
      if (!started) throw new Error("the replay of the recorded frames failed");
      debug.resumed = { episodeId: id, frames: actions.length };
      return true;
    } catch (e) {
      console.warn(`crowdplay: cannot resume episode ${id}, starting a new one:`, e);
      this.stream?.close();
      this.stream = null;
      forgetStoredChunks(null);
      return false;
    }
  }

  /**
   * @param {EpisodeGrant} grant
   * @param {number} nextSeq
   * @param {Chunk[]} pending
   */
  openStream(grant, nextSeq, pending) {
    const episodeId = grant.episode_id;
    const stream = new EpisodeStream({
      url: webSocketUrl(grant.ws_url),
      token: this.token,
      episodeId,
      nextSeq,
      pending,
      onVerdict: (verdict) => {
        debug.verdicts.push({ episodeId, status: verdict.status, score: verdict.score, reason: verdict.reason ?? null });
      },
      onProgress: (message) => {
        this.gotProgress = true;
        this.showProgress(message, episodeId, message.frame);
      },
      onError: (message) => this.onStreamError(stream, message),
      onConnection: (connected) => {
        if (stream === this.stream) $("connection").textContent = connected ? "" : "Reconnecting…";
      },
    });
    this.grant = grant;
    this.stream = stream;
    return stream;
  }

  /**
   * @param {EpisodeGrant} grant
   * @param {ResumeFrom | undefined} resume
   * @returns {Promise<boolean>} whether the worker started the episode
   */
  startWorker(grant, resume) {
    debug.episodeId = grant.episode_id;
    debug.frame = 0;
    debug.score = [0];
    return new Promise((resolve) => {
      this._onStart = resolve;
      this.send({ type: "start", episode: grant, resume, hidden: document.hidden });
    });
  }

  /** @param {WorkerToMain} message */
  onWorker(message) {
    if (message.type !== "paused" && message.episodeId !== this.grant?.episode_id) return;
    switch (message.type) {
      case "started":
        this.keyboard.enabled = true;
        this.showScore(message.frame, message.score);
        this._onStart?.(true);
        this._onStart = null;
        if (this.finishing) this.send({ type: "finish" });
        break;
      case "frame":
        this.screen.putImageData(new ImageData(new Uint8ClampedArray(message.pixels), message.width, message.height), 0, 0);
        this.showScore(message.frame, message.score);
        this.panel.tick(message.episodeId, message.frame);
        debug.playedSeconds = this.panel.playedSeconds;
        break;
      case "chunk":
        this.stream?.push(message.chunk);
        break;
      case "ended":
        void this.onEnded(message);
        break;
      case "paused":
        debug.paused = message.paused;
        this.notice(message.paused ? "Paused while this tab is hidden" : null);
        break;
      case "key-applied":
        if (debug.keyLatencies.length >= MAX_KEY_LATENCIES) debug.keyLatencies.shift();
        debug.keyLatencies.push({
          episodeId: message.episodeId, key: message.key, down: message.down, frame: message.frame,
          eventMs: message.eventMs, appliedMs: message.appliedMs, latencyMs: message.appliedMs - message.eventMs,
        });
        break;
      case "error":
        if (message.phase === "resume" && this._onStart !== null) {
          this._onStart(false);
          this._onStart = null;
        } else {
          fail(`The game stopped: ${message.message}`);
        }
        break;
    }
  }

  /** @param {number} frame @param {number[]} score */
  showScore(frame, score) {
    debug.frame = frame;
    debug.score = score;
    $("score").textContent = String(score[0]);
  }

  /** @param {string | null} text */
  notice(text) {
    const notice = $("notice");
    notice.hidden = text === null;
    notice.textContent = text ?? "";
  }

  /** @param {import("./messages").EndedMessage} message */
  async onEnded(message) {
    const stream = /** @type {EpisodeStream} */ (this.stream);
    this.keyboard.enabled = false;
    debug.episodes.push({ episodeId: message.episodeId, score: message.score, frames: message.end.frame, reason: message.end.reason });
    this.showScore(message.end.frame, message.score);
    const drained = stream.drained().then(() => setTimeout(() => stream.close(), VERDICT_WAIT_MS));
    if (message.end.reason === "ended_by_participant") {
      this.notice(this.savingNotice());
      await drained;
      await this.finishSession();
      return;
    }
    debug.phase = "game-over";
    this.notice("Game over — next game starting");
    // The final chunk must be stored before the next episode is asked for: POST /api/episodes
    // abandons any episode still open.
    await Promise.all([drained, sleep(GAME_OVER_NOTICE_MS)]);
    debug.phase = "playing";
    await this.newEpisode();
  }

  /**
   * @param {EpisodeStream} stream
   * @param {string} message
   */
  async onStreamError(stream, message) {
    console.error(`crowdplay: episode ${stream.episodeId}: ${message}`);
    stream.close();
    if (stream !== this.stream) return;
    this.send({ type: "stop" });
    this.keyboard.enabled = false;
    forgetStoredChunks(null);
    this.notice("This game could not be saved — a new game is starting");
    await sleep(GAME_OVER_NOTICE_MS);
    await this.newEpisode();
  }

  /** The Finish button (or the time is up): ends the episode being played, then the session. */
  finish() {
    if (this.finishing) return;
    this.finishing = true;
    debug.phase = "finishing";
    /** @type {HTMLButtonElement} */ ($("finish-button")).disabled = true;
    if (this.keyboard.enabled) this.send({ type: "finish" }); // -> "ended" -> finishSession
    // else: between episodes; newEpisode() finishes the session instead of starting one.
  }

  async finishSession() {
    this.keyboard.detach();
    this.notice(this.savingNotice());
    /** @type {FinishResult} */
    const result = await request("/api/session/finish", { method: "POST", token: this.token, body: {} });
    sessionStorage.setItem(`crowdplay.finish.${this.taskId}`, JSON.stringify(result));
    this.worker.terminate();
    debug.episodeId = null;
    showEnd(result, { taskId: this.taskId, token: this.token, treatment: this.treatment, timeUp: this.timeUp });
  }
}

// ---- End page -------------------------------------------------------------------------------

/**
 * The end page: the completion code and the platform's step, the payment once the session is
 * settled, the raffle form (raffle treatments) and a link to the score page.
 * @param {FinishResult} result
 * @param {EndContext} context
 */
function showEnd(result, context) {
  debug.phase = "finished";
  const body = $("end-body");
  body.replaceChildren();
  if (context.timeUp) {
    const up = document.createElement("p");
    up.id = "time-up";
    up.textContent = "Time is up: you have played the whole session.";
    body.append(up);
  }
  const code = document.createElement("p");
  code.innerHTML = 'Your completion code: <span class="code"></span>';
  /** @type {HTMLElement} */ (code.querySelector(".code")).textContent = result.completion_code;
  code.id = "completion-code";
  if (result.platform === "mturk" && result.submit !== null) {
    const form = document.createElement("form");
    form.id = "mturk-form";
    form.method = "POST";
    form.action = result.submit.url;
    for (const [name, value] of Object.entries(result.submit.fields ?? {})) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Submit the HIT";
    form.append(button);
    body.append(code, form);
  } else if (result.platform === "prolific" && result.submit !== null) {
    const link = document.createElement("a");
    link.id = "prolific-link";
    link.href = result.submit.url;
    link.textContent = "Return to Prolific to complete the study";
    const p = document.createElement("p");
    p.append(link);
    body.append(code, p);
  } else {
    const keep = document.createElement("p");
    keep.textContent = "Keep this code: you need it to claim your participation.";
    body.append(code, keep);
  }

  const payment = document.createElement("section");
  payment.id = "payment";
  payment.className = "end-payment";
  payment.textContent = "Your games are being checked…";
  body.append(payment);
  if (context.treatment?.raffle) body.append(raffleForm(context.token));
  const scoreLink = document.createElement("a");
  scoreLink.id = "score-link";
  scoreLink.href = `/score/${encodeURIComponent(context.taskId)}`;
  scoreLink.textContent = "See your results and how you compare with other players";
  const linkLine = document.createElement("p");
  linkLine.append(scoreLink);
  body.append(linkLine);
  show("end");
  void awaitSettlement(context.token, payment);
}

/**
 * Polls GET /api/session/score until the session is settled (200; 409 before), then shows what
 * it earned.
 * @param {string} token
 * @param {HTMLElement} into
 */
async function awaitSettlement(token, into) {
  /** @type {SessionScore} */
  let answer;
  for (;;) {
    try {
      answer = await request("/api/session/score", { token });
      break;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) {
        into.textContent = `Your results could not be shown: ${describe(e)}`;
        return;
      }
    }
    await sleep(SCORE_POLL_MS);
  }
  debug.payment = answer.payment;
  into.replaceChildren(...paymentView(answer.payment));
  into.classList.add("settled");
}

/**
 * What a settled session earned, as the end page shows it.
 * @param {Progress | null} payment
 * @returns {HTMLElement[]}
 */
function paymentView(payment) {
  const line = (/** @type {string} */ id, /** @type {string} */ text) => {
    const p = document.createElement("p");
    p.id = id;
    p.textContent = text;
    return p;
  };
  if (payment === null) return [line("payment-summary", "Your games have been checked: your results are ready.")];
  const items = document.createElement("ul");
  items.className = "end-items";
  for (const item of payment.items) {
    const li = document.createElement("li");
    li.className = item.met ? "met" : "";
    li.textContent = `${item.met ? "✓ " : ""}${itemText(item, payment.challenge)}`;
    items.append(li);
  }
  if (payment.challenge) {
    const done = payment.items.filter((i) => i.met).length;
    return [line("payment-summary", `Challenges completed: ${done} of ${payment.items.length}`), items];
  }
  const money = (/** @type {number} */ amount) => formatMoney(amount, payment.currency);
  const out = [];
  if (payment.raffle) {
    out.push(line("raffle-entries", `Raffle entries earned: ${payment.requirements_met} (one per requirement met)`));
  }
  if (!payment.raffle || payment.total > 0) {
    out.push(
      line(
        "payment-summary",
        `Your payment: ${money(payment.base)} base + ${money(payment.bonus)} bonus = ${money(payment.total)}`,
      ),
    );
  }
  out.push(items);
  return out;
}

/**
 * The raffle form: an email address, with explicit consent to store it for the draw.
 * @param {string} token
 */
function raffleForm(token) {
  const section = document.createElement("section");
  section.className = "raffle";
  section.innerHTML = `
    <h3>Enter the raffle</h3>
    <p>Leave an email address to take part in the draw. It is stored apart from your game data
      and used only to contact you if you win.</p>
    <form id="raffle-form">
      <label>Email <input type="email" id="raffle-email" name="email" required maxlength="254" autocomplete="email"></label>
      <label class="check"><input type="checkbox" id="raffle-consent" name="consent">
        I agree that my email address is stored for the raffle draw.</label>
      <p><button type="submit" id="raffle-submit" disabled>Enter the raffle</button></p>
      <p id="raffle-message" role="status"></p>
    </form>`;
  const form = /** @type {HTMLFormElement} */ (section.querySelector("form"));
  const email = /** @type {HTMLInputElement} */ (section.querySelector("#raffle-email"));
  const consent = /** @type {HTMLInputElement} */ (section.querySelector("#raffle-consent"));
  const submit = /** @type {HTMLButtonElement} */ (section.querySelector("#raffle-submit"));
  const message = /** @type {HTMLElement} */ (section.querySelector("#raffle-message"));
  consent.addEventListener("change", () => (submit.disabled = !consent.checked));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!consent.checked) return;
    submit.disabled = true;
    try {
      await request("/api/session/raffle", { method: "POST", token, body: { email: email.value.trim(), consent: true } });
      debug.raffle = "stored";
      form.replaceChildren();
      const done = document.createElement("p");
      done.id = "raffle-done";
      done.textContent = "You are entered in the raffle. Your entries are counted once your games have been checked.";
      form.append(done);
    } catch (e) {
      message.textContent = `Not entered: ${describe(e)}`;
      submit.disabled = false;
    }
  });
  return section;
}

// ---- Consent and instructions ---------------------------------------------------------------

/** Resolves when the participant consents. */
function consent() {
  debug.phase = "consent";
  show("consent");
  const check = /** @type {HTMLInputElement} */ ($("consent-check"));
  const button = /** @type {HTMLButtonElement} */ ($("consent-button"));
  check.addEventListener("change", () => (button.disabled = !check.checked));
  return new Promise((resolve) => button.addEventListener("click", () => resolve(undefined), { once: true }));
}

/** @param {Task} task */
function instructions(task) {
  debug.phase = "instructions";
  // Task instructions are written by the researcher who configured the task (trusted HTML).
  $("instructions-body").innerHTML = task.instructions_html;
  show("instructions");
  const button = $("start-button");
  return new Promise((resolve) =>
    button.addEventListener("click", () => (button.blur(), resolve(undefined)), { once: true }),
  );
}

// ---- Main -----------------------------------------------------------------------------------

async function main() {
  const parts = location.pathname.split("/").filter(Boolean);
  const taskId = decodeURIComponent(parts[parts.length - 1] ?? "");
  const params = new URLSearchParams(location.search);
  const task = (await listTasks()).find((t) => t.id === taskId);
  if (task === undefined) return fail(`There is no task "${taskId}".`);
  $("task-title").textContent = task.title;
  $("task-description").textContent = task.description;
  document.title = `${task.title} — CrowdPlay`;

  if (params.get("assignmentId") === MTURK_PREVIEW) {
    debug.phase = "preview";
    $("preview-instructions").innerHTML = task.instructions_html;
    show("preview");
    return;
  }

  let token = tokenStore.get(taskId);
  /** @type {SessionState | null} */
  let session = null;
  if (token !== null) {
    try {
      session = await request("/api/session", { token });
    } catch (e) {
      if (!(e instanceof ApiError && e.status >= 400 && e.status < 500)) throw e;
      tokenStore.clear(taskId); // expired or unknown: start over
      token = null;
    }
  }
  if (token === null || session === null) {
    await consent();
    /** @type {Record<string, string>} */
    const platform = {};
    for (const name of PLATFORM_PARAMS) {
      const value = params.get(name);
      if (value !== null) platform[name] = value;
    }
    const created = await request("/api/sessions", { method: "POST", body: { task_id: taskId, platform, consent: true } });
    token = /** @type {string} */ (created.token);
    tokenStore.set(taskId, token);
    await instructions(task);
    session = { session_id: created.session_id, task, finished: false, treatment: created.treatment ?? null, open_episode: null };
  }
  debug.treatment = session.treatment ?? null;
  if (session.finished) {
    const stored = sessionStorage.getItem(`crowdplay.finish.${taskId}`);
    const result = stored !== null ? JSON.parse(stored) : await request("/api/session/finish", { method: "POST", token, body: {} });
    return showEnd(result, { taskId, token, treatment: debug.treatment, timeUp: false });
  }
  await new Player(task, token, debug.treatment).begin(session);
}

main().catch((e) => fail(describe(e)));
