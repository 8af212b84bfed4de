// The settlement poll: GET /api/session/score answers once the session is settled — finished,
// and every episode verified — and 409 until then (docs/protocol.md). The end page (end.mjs)
// and the score page (score.mjs) both wait for it.
import { ApiError, request } from "./api.mjs";
import { sleep } from "./dom.mjs";

/** @typedef {import("./messages").SessionScore} SessionScore */

/** How often the score is asked for again while the session is not settled. */
export const SETTLEMENT_POLL_MS = 2000;

/**
 * The session's score once it is settled, asked for every SETTLEMENT_POLL_MS until then.
 * @param {string} token the session token
 * @param {() => void} [onWaiting] called after each 409 (not settled yet)
 * @returns {Promise<SessionScore>}
 * @throws {ApiError} for any answer but 200 and 409 (and whatever fetch throws)
 */
export async function awaitSettlement(token, onWaiting = () => {}) {
  for (;;) {
    try {
      return await request("/api/session/score", { token });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) throw e;
    }
    onWaiting();
    await sleep(SETTLEMENT_POLL_MS);
  }
}
