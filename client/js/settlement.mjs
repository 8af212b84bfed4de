// The settlement poll: GET /api/session/score answers once the session is settled — finished,
// and every episode verified — and 409 until then (docs/protocol.md). The end page (end.mjs)
// and the score page (score.mjs) both wait for it; a lost connection only delays it (retry.mjs).
import { ApiError, request } from "./api.mjs";
import { sleep } from "./dom.mjs";
import { retrying } from "./retry.mjs";

/** @typedef {import("./messages").SessionScore} SessionScore */

/** How often the score is asked for again while the session is not settled. */
export const SETTLEMENT_POLL_MS = 2000;

/**
 * The session's score once it is settled, asked for every SETTLEMENT_POLL_MS until then.
 * @param {string} token the session token
 * @param {() => void} [onWaiting] called after each 409 (not settled yet)
 * @param {(text: string | null) => void} [status] what the poll waits for while the server
 *   cannot be reached (null once it answers again)
 * @returns {Promise<SessionScore>}
 * @throws {ApiError} for any answer but 200, 409 and the retried ones (retry.mjs)
 */
export async function awaitSettlement(token, onWaiting = () => {}, status = () => {}) {
  for (;;) {
    try {
      return await retrying(() => request("/api/session/score", { token }), { status, doing: "Loading your results" });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) throw e;
    }
    onWaiting();
    await sleep(SETTLEMENT_POLL_MS);
  }
}
