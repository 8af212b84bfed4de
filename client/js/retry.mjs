// Network steps that must get through: each is tried again with a growing pause while there is
// no connection or the server is failing, and says what it is doing meanwhile, so that a dropped
// connection never leaves the page silent or stuck. An answer that says the step is wrong (a
// 4xx other than 408 and 429) is final and thrown at once.
import { ApiError, NetworkError } from "./api.mjs";
import { describe } from "./dom.mjs";

/** Pauses between attempts; the last one repeats. */
export const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];

/** The step was given up because the page no longer needs it (`stop` said so). */
export class Stopped extends Error {
  constructor() {
    super("stopped");
    this.name = "Stopped";
  }
}

/**
 * Whether a failed step is worth trying again.
 * @param {unknown} e
 */
export function retryable(e) {
  if (e instanceof NetworkError) return true;
  return e instanceof ApiError && (e.status >= 500 || e.status === 408 || e.status === 429);
}

/**
 * A failure as the participant reads it while the step waits to be tried again.
 * @param {unknown} e
 */
export function problem(e) {
  if (e instanceof NetworkError) return "No connection to the server";
  return `The server did not answer (${describe(e)})`;
}

/**
 * Runs `attempt` until it succeeds.
 * @template T
 * @param {() => Promise<T>} attempt
 * @param {object} [options]
 * @param {(text: string | null) => void} [options.status] what the step is doing: a sentence
 *   while it waits to try again (updated every second), null once it goes on
 * @param {string} [options.doing] the step, as the sentence names it ("Starting the next game")
 * @param {() => boolean} [options.stop] checked after each failure: true gives the step up
 * @returns {Promise<T>}
 * @throws {Stopped} when `stop` said so; whatever `attempt` threw when it is not retryable
 */
export async function retrying(attempt, { status = () => {}, doing = "Connecting", stop = () => false } = {}) {
  for (let failures = 0; ; failures++) {
    try {
      const result = await attempt();
      if (failures > 0) status(null);
      return result;
    } catch (e) {
      if (!retryable(e)) throw e;
      if (stop()) throw new Stopped();
      const delay = RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)];
      console.warn(`crowdplay: ${doing}: ${describe(e)}; trying again in ${delay} ms`);
      await pause(delay, (left) => status(`${doing}: ${problem(e).toLowerCase()}. Trying again in ${left} s…`));
      if (stop()) throw new Stopped();
      status(`${doing}: trying again…`);
    }
  }
}

/**
 * Waits `ms` (less if the browser comes back online), telling `tick` the seconds left.
 * @param {number} ms
 * @param {(secondsLeft: number) => void} tick
 */
function pause(ms, tick) {
  return new Promise((resolve) => {
    const end = performance.now() + ms;
    const done = () => {
      clearInterval(timer);
      window.removeEventListener("online", done);
      resolve(undefined);
    };
    let shown = -1;
    const update = () => {
      const left = Math.ceil((end - performance.now()) / 1000);
      if (left <= 0) done();
      else if (left !== shown) tick((shown = left));
    };
    const timer = setInterval(update, 250);
    window.addEventListener("online", done);
    update();
  });
}
