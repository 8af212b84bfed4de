// The participant's session and its episodes (docs/protocol.md, "HTTP"): the session is opened
// from the tab's token (GET /api/session) or after consent (POST /api/sessions); its episodes are
// played one after the other (POST /api/episodes), each streamed to the server (stream.mjs); an
// episode left open by a reload is resumed from the server's grant and log; Finish — or the
// session's time played — ends the episode, then the session (POST /api/session/finish).
//
// Every network step retries until it gets through (retry.mjs) and says what it is doing in the
// notice over the game, so a dropped connection never leaves the page frozen: play goes on when
// the server is back, and Finish still finishes.
//
// What is drawn and played is the play view's (play.mjs): a Session drives it as an EpisodeView
// and hears from it as its EpisodeListener (messages.d.ts).
import { ApiError, request, tokenStore } from "./api.mjs";
import { sleep } from "./dom.mjs";
import { Stopped, retrying } from "./retry.mjs";
import { MatchRelay, waitForPartner } from "./match-relay.mjs";
import { EpisodeStream, forgetStoredChunks, storedChunks, webSocketUrl } from "./stream.mjs";

/** @typedef {import("./api.mjs").Task} Task */
/** @typedef {import("./debug.mjs").PlayDebug} PlayDebug */
/** @typedef {import("./messages").Chunk} Chunk */
/** @typedef {import("./messages").EndedMessage} EndedMessage */
/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */
/** @typedef {import("./messages").EpisodeView} EpisodeView */
/** @typedef {import("./messages").FinishResult} FinishResult */
/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").ResumeFrom} ResumeFrom */
/** @typedef {import("./messages").SessionState} SessionState */

const LOG_FORMAT = "crowdplay.episode/1";
/** URL parameters passed to POST /api/sessions as `platform` (`source`: email, social or lab). */
const PLATFORM_PARAMS = [
  "workerId", "assignmentId", "hitId", "turkSubmitTo", "PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "source",
];
const GAME_OVER_NOTICE_MS = 2000;
/** How long a finished episode's socket stays open for its verdict. */
const VERDICT_WAIT_MS = 60_000;

/** @param {string} taskId */
const finishKey = (taskId) => `crowdplay.finish.${taskId}`;

/**
 * The recruitment platform the page's URL parameters name, as the server tells them apart
 * (server/study/identities.py): MTurk, Prolific, a `source=` channel, else anonymous.
 * @param {URLSearchParams} params
 * @returns {"mturk" | "prolific" | "email" | "social" | "lab" | "anonymous"}
 */
export function platformOf(params) {
  if (["workerId", "assignmentId", "hitId", "turkSubmitTo"].some((n) => params.has(n))) return "mturk";
  if (["PROLIFIC_PID", "STUDY_ID", "SESSION_ID"].some((n) => params.has(n))) return "prolific";
  const source = params.get("source");
  return source === "email" || source === "social" || source === "lab" ? source : "anonymous";
}

/**
 * The tab's session for a task: the stored token's, else a new one (the participant consents,
 * the session is created with the page's platform parameters, the instructions are read).
 * @param {Task} task
 * @param {URLSearchParams} params the page's query
 * @param {object} steps the page's steps, each resolving when the participant goes on
 * @param {() => Promise<void>} steps.consent
 * @param {(state: SessionState) => Promise<void>} steps.instructions the session's instructions
 * @param {(text: string | null) => void} steps.status what a network step is waiting for
 * @returns {Promise<{token: string, state: SessionState}>}
 */
export async function openSession(task, params, steps) {
  const { status } = steps;
  const stored = tokenStore.get(task.id);
  if (stored !== null) {
    try {
      const state = await retrying(() => request("/api/session", { token: stored }), { status, doing: "Loading your session" });
      return { token: stored, state };
    } catch (e) {
      if (!(e instanceof ApiError && e.status >= 400 && e.status < 500)) throw e;
      tokenStore.clear(task.id); // expired or unknown: start over
    }
  }
  await steps.consent();
  /** @type {Record<string, string>} */
  const platform = {};
  for (const name of PLATFORM_PARAMS) {
    const value = params.get(name);
    if (value !== null) platform[name] = value;
  }
  const body = { task_id: task.id, platform, consent: true };
  const created = await retrying(() => request("/api/sessions", { method: "POST", body }), { status, doing: "Starting your session" });
  const token = /** @type {string} */ (created.token);
  tokenStore.set(task.id, token);
  /** @type {SessionState} */
  let state = { session_id: created.session_id, task, finished: false, treatment: created.treatment ?? null, open_episode: null };
  if (created.resumed) {
    // The server found this person's earlier session of the task: continue it where it stands.
    state = await retrying(() => request("/api/session", { token }), { status, doing: "Loading your session" });
  }
  if (!state.finished) await steps.instructions(state);
  return { token, state };
}

/**
 * The completion step of a finished session: the one this tab kept, else the server's again.
 * @param {string} taskId
 * @param {string} token
 * @param {(text: string | null) => void} status
 * @returns {Promise<FinishResult>}
 */
export async function completion(taskId, token, status) {
  const kept = sessionStorage.getItem(finishKey(taskId));
  if (kept !== null) return JSON.parse(kept);
  return retrying(() => request("/api/session/finish", { method: "POST", token, body: {} }), { status, doing: "Finishing" });
}

/** Plays a session's episodes one after the other until Finish or the session's time is up. */
export class Session {
  /**
   * @param {EpisodeView} view
   * @param {object} options
   * @param {string} options.taskId
   * @param {string} options.token
   * @param {PlayDebug} options.debug
   * @param {(result: FinishResult, timeUp: boolean) => void} options.onFinished the session is
   *   finished (the end page follows)
   * @param {(error: unknown) => void} options.onFailed the session cannot go on (the page says
   *   why and offers a reload, which resumes it)
   * @param {boolean} [options.twoPlayers] the task has two human seats (docs/two-players.md):
   *   each game starts in the waiting room and is played over the match's relay
   */
  constructor(view, { taskId, token, debug, onFinished, onFailed, twoPlayers = false }) {
    this.twoPlayers = twoPlayers;
    /** Two players: the partner pressed Finish (the server's `ended`). */
    this.partnerFinished = false;
    /** @type {MatchRelay | null} the relay of the two-player game being played */
    this.relay = null;
    this.view = view;
    this.taskId = taskId;
    this.token = token;
    this.debug = debug;
    this.onFinished = onFinished;
    this.onFailed = onFailed;
    this.timeUp = false;
    this.finishing = false;
    /** @type {EpisodeStream | null} the stream of the episode being played */
    this.stream = null;
    this.gotProgress = false;
    /** Whether the stream of the episode being played is connected. */
    this.connected = true;
    const guard = (/** @type {Promise<void>} */ step) => void step.catch((e) => this.onFailed(e));
    view.listen({
      relay: (message) => this.relay?.send(message),
      chunk: (chunk) => this.stream?.push(chunk),
      ended: (message) => guard(this.onEnded(message)),
      finish: () => this.finish(),
      timeUp: () => this.onTimeUp(),
    });
  }

  /**
   * Resumes the open episode, if any and if it can be, else starts a new one.
   * @param {SessionState} state
   */
  async begin(state) {
    const open = state.open_episode;
    void this.loadProgress(open);
    forgetStoredChunks(open?.episode_id ?? null);
    if (open !== null && (await this.resume(open))) return;
    await this.newEpisode();
  }

  /**
   * The session's progress so far (GET /api/session/progress), until the first progress message.
   * It stands at the open episode's stored frames (the server's live values cover those).
   * @param {EpisodeGrant | null} open
   */
  async loadProgress(open) {
    try {
      /** @type {ProgressReport} */
      const report = await retrying(() => request("/api/session/progress", { token: this.token }), {
        stop: () => this.gotProgress,
        doing: "Loading your progress",
      });
      if (this.gotProgress) return; // a newer report came over the WebSocket
      this.view.progress(report, open?.episode_id ?? null, open?.frames ?? 0);
    } catch (e) {
      console.warn("crowdplay: no progress yet:", e); // the first progress message will show it
    }
  }

  /** The session's time is played: end the game and finish, as the Finish button does. */
  onTimeUp() {
    if (this.finishing) return;
    this.timeUp = true;
    this.debug.timeUp = true;
    this.view.notice("Time is up");
    this.finish();
  }

  /** The notice while the last game is saved. */
  savingNotice() {
    const saving = this.timeUp ? "Time is up — saving your game…" : "Saving your game…";
    return this.connected ? saving : `${saving} Waiting for the connection to the server to come back.`;
  }

  /**
   * The notice while a network step waits: its own words, else `otherwise`.
   * @param {string} otherwise
   * @returns {(text: string | null) => void}
   */
  noticeOr(otherwise) {
    return (text) => this.view.notice(text ?? otherwise);
  }

  /** Asks for a new episode (until it is granted, or Finish is confirmed meanwhile) and plays it. */
  async newEpisode() {
    if (this.finishing) return this.finishSession();
    if (this.twoPlayers) return this.newMatch();
    /** @type {EpisodeGrant} */
    let grant;
    try {
      grant = await retrying(() => request("/api/episodes", { method: "POST", token: this.token, body: {} }), {
        status: this.noticeOr("Starting the next game…"),
        doing: "Starting the next game",
        stop: () => this.finishing,
      });
    } catch (e) {
      if (e instanceof Stopped) return this.finishSession();
      throw e;
    }
    this.openStream(grant, []);
    await this.start(grant, undefined);
    if (!this.finishing) this.view.notice(null);
  }

  /**
   * Continues an episode left open by an earlier page load, from its grant (GET /api/session's
   * `open_episode`): its log from the server plus the chunks this tab had not got acknowledged,
   * replayed in the worker without rendering.
   * @param {EpisodeGrant} grant
   * @returns {Promise<boolean>} false when it could not be resumed (a new episode follows)
   */
  async resume(grant) {
    const id = grant.episode_id;
    try {
      const log = await retrying(() => request(`/api/episodes/${encodeURIComponent(id)}/log`, { token: this.token }), {
        status: this.noticeOr("Loading your game…"),
        doing: "Loading your game",
      });
      if (log.format !== LOG_FORMAT) throw new Error(`unsupported log format ${log.format}`);
      if (log.env.players !== 1) throw new Error("only one-player episodes are resumed");
      /** @type {number[]} */
      const actions = [...log.actions[0]];
      const checkpoints = [...log.checkpoints];
      /** @type {Chunk[]} */
      const pending = [];
      for (const chunk of storedChunks(id)) {
        if (chunk.seq < grant.next_seq) continue;
        if (chunk.seq !== grant.next_seq + pending.length || chunk.start !== actions.length) break;
        pending.push(chunk);
        actions.push(...chunk.actions[0]);
        checkpoints.push(...chunk.checkpoints);
      }
      if (pending.some((c) => c.end !== null)) {
        // The episode had ended; only its last chunks were not stored yet.
        this.view.notice(this.savingNotice());
        await this.openStream(grant, pending).drained();
        return false;
      }
      this.openStream(grant, pending);
      const started = await this.start(grant, { actions: [actions], checkpoints });
      if (!started) throw new Error("the replay of the recorded frames failed");
      this.view.notice(null);
      this.debug.resumed = { episodeId: id, frames: actions.length };
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
   * The episode's stream to the grant's WebSocket, from the grant's `next_seq`.
   * @param {EpisodeGrant} grant
   * @param {Chunk[]} pending unacknowledged chunks from an earlier page load
   */
  openStream(grant, pending) {
    const episodeId = grant.episode_id;
    const stream = new EpisodeStream({
      url: webSocketUrl(grant.ws_url),
      token: this.token,
      episodeId,
      nextSeq: grant.next_seq,
      pending,
      onVerdict: (verdict) => {
        this.debug.verdicts.push({ episodeId, status: verdict.status, score: verdict.score, reason: verdict.reason ?? null });
      },
      onProgress: (message) => {
        this.gotProgress = true;
        this.view.progress(message, episodeId, message.frame);
      },
      onError: (message) => void this.onStreamError(stream, message).catch((e) => this.onFailed(e)),
      onConnection: (connected) => {
        if (stream !== this.stream) return;
        this.connected = connected;
        this.view.connection(connected);
      },
    });
    this.stream = stream;
    this.connected = true;
    this.view.connection(true);
    return stream;
  }

  /**
   * Starts the episode in the view's emulator; if Finish was pressed meanwhile, ends it at once.
   * @param {EpisodeGrant} grant
   * @param {ResumeFrom | undefined} resume
   * @returns {Promise<boolean>} whether it started
   */
  async start(grant, resume) {
    const started = await this.view.play(grant, resume);
    if (started && this.finishing) this.view.finishEpisode();
    return started;
  }

  /** Two players: waits for a partner in the waiting room, then plays over the match's relay. */
  async newMatch() {
    this.debug.phase = "waiting";
    const grant = await waitForPartner(this.token, (text) => this.view.notice(text), () => this.finishing);
    if (grant === null) return this.finishSession(); // timed out (or Finish): the completion step
    this.debug.phase = "playing";
    this.view.notice("Connecting to your partner…");
    let started = false;
    this.relay = new MatchRelay({
      url: /** @type {string} */ (grant.relay_url),
      token: this.token,
      onConnection: (connected) => this.view.connection(connected),
      onReady: (ready) => {
        if (started) return;
        started = true;
        void this.start(grant, undefined).then(() => {
          if (!this.finishing) this.view.notice(ready.partner === "away" ? "Waiting for your partner…" : null);
        });
      },
      onMessage: (message) => this.onRelayMessage(message),
    });
  }

  /** @param {any} message a relay message after `ready` */
  onRelayMessage(message) {
    switch (message.type) {
      case "partner_inputs":
      case "desync":
      case "state_request":
      case "state":
        this.view.relayIn(message);
        break;
      case "partner_paused":
        this.view.partnerPaused(message.hidden);
        break;
      case "partner_left":
        this.view.partnerLeft("partner_left");
        break;
      case "ended":
        // The match ended on the server (Finish, by either seat): stop here too.
        if (message.reason === "ended_by_participant" && !this.finishing) this.partnerFinished = true;
        this.view.partnerLeft("ended_by_participant");
        break;
      case "partner":
        if (!this.finishing) this.view.notice(message.state === "away" ? "Your partner's connection dropped — waiting for them…" : null);
        break;
      case "verdict":
        this.debug.verdicts.push({ episodeId: this.view.episodeId ?? "", status: message.status, score: message.score, reason: message.reason ?? null });
        break;
      case "error":
        console.error("crowdplay: relay:", message.error);
        break;
    }
  }

  /** @param {EndedMessage} message */
  async onEnded(message) {
    if (this.twoPlayers) return this.onMatchEnded(message);
    const stream = /** @type {EpisodeStream} */ (this.stream);
    this.debug.episodes.push({ episodeId: message.episodeId, score: message.score, frames: message.end.frame, reason: message.end.reason });
    const drained = stream.drained().then(() => setTimeout(() => stream.close(), VERDICT_WAIT_MS));
    if (message.end.reason === "ended_by_participant") {
      this.view.notice(this.savingNotice());
      await this.untilSaved(drained);
      await this.finishSession();
      return;
    }
    this.debug.phase = "game-over";
    this.view.notice(message.end.reason === "truncated" ? "This game reached its time limit — next game starting" : "Game over — next game starting");
    // The final chunk must be stored before the next episode is asked for: POST /api/episodes
    // abandons any episode still open.
    await sleep(GAME_OVER_NOTICE_MS);
    await this.untilSaved(drained);
    await this.newEpisode();
    if (this.debug.phase === "game-over") this.debug.phase = "playing";
  }

  /**
   * Two players: the game ended (confirmed by both, Finish, or the partner left); the server
   * stores it from the relay. The session then finishes (the completion step) — unless the
   * partner left and the participant chooses to play on alone: one-player games follow.
   * @param {EndedMessage} message
   */
  async onMatchEnded(message) {
    this.debug.episodes.push({ episodeId: message.episodeId, score: message.score, frames: message.end.frame, reason: message.end.reason });
    const relay = this.relay;
    const left = message.end.reason === "partner_left" && !this.partnerFinished;
    if (this.partnerFinished) {
      this.view.notice("Your partner finished the game. It is saved; your session is being completed — you will get your completion code.");
    } else if (left) {
      this.view.notice("Your partner left the game. It is saved.");
    } else if (message.end.reason !== "ended_by_participant") {
      this.view.notice(message.end.reason === "truncated" ? "This game reached its time limit" : "Game over");
    }
    setTimeout(() => relay?.close(), VERDICT_WAIT_MS);
    this.relay = null;
    if (left && !this.finishing && (await this.view.askPlayOnAlone())) {
      // The rest of the session is one-player games (the server issues them: Task.alone()).
      this.twoPlayers = false;
      this.debug.phase = "playing";
      this.view.notice("Starting a game for one player…");
      await this.newEpisode();
      return;
    }
    if (!left) await sleep(GAME_OVER_NOTICE_MS);
    await this.finishSession();
  }

  /**
   * Waits until the last game's chunks are stored, saying so while the connection is down.
   * @param {Promise<unknown>} drained
   */
  async untilSaved(drained) {
    let saved = false;
    void drained.then(() => (saved = true));
    await sleep(0);
    while (!saved) {
      this.view.notice(this.savingNotice());
      await Promise.race([drained, sleep(1000)]);
    }
  }

  /**
   * @param {EpisodeStream} stream
   * @param {string} message
   */
  async onStreamError(stream, message) {
    console.error(`crowdplay: episode ${stream.episodeId}: ${message}`);
    stream.close();
    if (stream !== this.stream) return;
    this.view.stop();
    forgetStoredChunks(null);
    if (this.finishing) return this.finishSession();
    this.view.notice("This game could not be saved — a new game is starting");
    await sleep(GAME_OVER_NOTICE_MS);
    await this.newEpisode();
  }

  /** Finish (confirmed) or the time is up: ends the episode being played, then the session. */
  finish() {
    if (this.finishing) return;
    this.finishing = true;
    this.debug.phase = "finishing";
    this.view.ending();
    this.view.notice(this.savingNotice());
    this.view.finishEpisode(); // -> "ended" -> finishSession
    // Between episodes nothing runs: newEpisode() finishes the session instead of starting one.
  }

  async finishSession() {
    this.view.notice(this.savingNotice());
    /** @type {FinishResult} */
    const result = await retrying(() => request("/api/session/finish", { method: "POST", token: this.token, body: {} }), {
      status: this.noticeOr("Finishing…"),
      doing: "Finishing your session",
    });
    sessionStorage.setItem(finishKey(this.taskId), JSON.stringify(result));
    this.view.close();
    this.onFinished(result, this.timeUp);
  }
}
