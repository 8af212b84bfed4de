// The test and debug surface: `window.crowdplay`, a read-only view of a page's state for the
// end-to-end tests (tests/e2e) and for debugging in the console. It is not an API: nothing in
// the pages reads it back. A page creates its state here once, when it starts, and its modules
// write the fields; every read of `window.crowdplay.<field>` returns a copy.

/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */
/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").Progress} Progress */
/** @typedef {import("./messages").SessionScore} SessionScore */

/**
 * The play page's state (play.mjs, session.mjs, end.mjs).
 * @typedef {object} PlayDebug
 * @property {number[]} score cumulative reward per player of the current episode, as shown
 * @property {number} frame frames emulated in the current episode
 * @property {string | null} episodeId the current episode, or null
 * @property {boolean} paused whether the emulator is paused (hidden tab)
 * @property {{episodeId: string, status: string, score: number[], reason: string | null}[]} verdicts
 *   every verdict received
 * @property {{episodeId: string, score: number[], frames: number, reason: string}[]} episodes
 *   every episode ended in this page
 * @property {KeyLatency[]} keyLatencies per key change (the last MAX_KEY_LATENCIES of play.mjs)
 * @property {{episodeId: string, frames: number} | null} resumed the episode this page load
 *   resumed, else null
 * @property {"loading" | "keyboard-needed" | "preview" | "consent" | "instructions" | "playing" |
 *   "waiting" | "game-over" | "finishing" | "finished" | "failed"} phase "waiting": in the
 *   two-player waiting room; "keyboard-needed": a touch-only
 *   device, told that a keyboard is needed (nothing starts until one is confirmed)
 * @property {TreatmentSummary | null} treatment the session's treatment summary, or null
 * @property {ProgressReport | null} progress the last progress report the panel shows (a
 *   WebSocket `progress` message, or GET /api/session/progress before the first one), or null
 * @property {number} playedSeconds the panel's session timer (interpolated between reports)
 * @property {boolean} timeUp whether the session finished because its time was played
 * @property {Progress | null | undefined} payment on the end page, the settled session's
 *   `payment` once GET /api/session/score answered (undefined before; null for a task without
 *   treatments)
 * @property {"stored" | null} raffle "stored" once the raffle form was accepted, else null
 * @property {boolean} connected whether the episode's stream is connected (the page says so
 *   when it is not)
 * @property {import("./messages").PartnerStats | null} partner with an AI partner, what it did
 *   in the current episode so far (its actions, inference times), updated once per chunk
 *
 * @typedef {object} KeyLatency
 * @property {string} episodeId
 * @property {string} key
 * @property {boolean} down
 * @property {number} frame the frame on which the key change took effect
 * @property {number} eventMs the key event, epoch ms
 * @property {number} appliedMs when the worker emulated `frame`, epoch ms
 * @property {number} latencyMs appliedMs - eventMs
 */

/**
 * The score page's state (score.mjs).
 * @typedef {object} ScoreDebug
 * @property {"loading" | "no-session" | "waiting" | "ready" | "failed"} phase "waiting": the
 *   session is not settled yet
 * @property {SessionScore | null} score the GET /api/session/score answer once it came, else null
 * @property {("feedback" | "problem")[]} feedback the kinds of the reports the server stored
 */

/**
 * Exposes `state` as `window.crowdplay`: a frozen object with one getter per field, each
 * returning a copy of the field's current value.
 * @template {object} T
 * @param {T} state
 * @returns {T} `state`, for the page to write
 */
function expose(state) {
  const fields = /** @type {Record<string, unknown>} */ (state);
  const view = {};
  for (const name of Object.keys(fields)) {
    Object.defineProperty(view, name, { enumerable: true, get: () => structuredClone(fields[name]) });
  }
  Object.defineProperty(window, "crowdplay", { value: Object.freeze(view) });
  return state;
}

/** The play page's state, exposed as `window.crowdplay`. @returns {PlayDebug} */
export function playDebug() {
  return expose(/** @type {PlayDebug} */ ({
    score: [0],
    frame: 0,
    episodeId: null,
    paused: false,
    verdicts: [],
    episodes: [],
    keyLatencies: [],
    resumed: null,
    phase: "loading",
    treatment: null,
    progress: null,
    playedSeconds: 0,
    timeUp: false,
    payment: undefined,
    raffle: null,
    connected: true,
    partner: null,
  }));
}

/** The score page's state, exposed as `window.crowdplay`. @returns {ScoreDebug} */
export function scoreDebug() {
  return expose(/** @type {ScoreDebug} */ ({ phase: "loading", score: null, feedback: [] }));
}
