// The policy worker: one AI policy (policy.mjs) in its own module worker, so inference never
// holds up the emulator's 60 Hz clock or the page. Messages are handled one at a time, in order;
// they are typed in policy-messages.d.ts.
import { Policy } from "./policy.mjs";

/** @typedef {import("./policy-messages").PageToPolicy} PageToPolicy */
/** @typedef {import("./policy-messages").PolicyToPage} PolicyToPage */

/** @type {Policy | null} */
let policy = null;
let queue = Promise.resolve();

/** @param {PolicyToPage} message */
function reply(message) {
  self.postMessage(message);
}

/** @param {PageToPolicy} message */
async function handle(message) {
  try {
    if (message.type === "load") {
      const start = performance.now();
      await policy?.release();
      policy = null;
      policy = await Policy.load(message.url);
      reply({ type: "loaded", modelBytes: policy.modelBytes, ms: performance.now() - start });
    } else if (message.type === "act") {
      if (policy === null) throw new Error("no policy loaded");
      reply({ type: "action", id: message.id, ...(await policy.act(message.observation)) });
    } else {
      throw new Error(`unknown message type ${/** @type {{type: unknown}} */ (message).type}`);
    }
  } catch (error) {
    const id = message.type === "act" ? message.id : undefined;
    reply({ type: "error", id, message: error instanceof Error ? error.message : String(error) });
  }
}

self.onmessage = (/** @type {MessageEvent<PageToPolicy>} */ event) => {
  queue = queue.then(() => handle(event.data));
};
