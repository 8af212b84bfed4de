// The scripted policies the client ships, by the `script` name a policy manifest gives
// (docs/policies.md). Each reads the 128-byte RAM and the frame number and returns an ALE action
// id (0..17); it is deterministic, so the same episode gives the same actions.
// crowdplay.policies.SCRIPTS lists the same names for the manifests' check (a test compares them).
import { GAME as PONG, PongTracker } from "./pong-tracker.mjs";
import { GAME as SPACE_INVADERS, SpaceInvadersHelper } from "./space-invaders-helper.mjs";

/** @typedef {{act(ram: Uint8Array, frame: number): number}} ScriptedPolicy */

/** Script name -> its game and a constructor taking `{player}`. */
export const SCRIPTS = Object.freeze({
  "space-invaders-helper": { game: SPACE_INVADERS, create: (options) => new SpaceInvadersHelper(options) },
  "pong-tracker": { game: PONG, create: (options) => new PongTracker(options) },
});

/**
 * A scripted policy by name, for one seat.
 * @param {string} script a key of SCRIPTS
 * @param {{player?: number}} [options]
 * @returns {ScriptedPolicy}
 */
export function createScriptedPolicy(script, options = {}) {
  const entry = Object.hasOwn(SCRIPTS, script) ? SCRIPTS[script] : undefined;
  if (entry === undefined) {
    throw new Error(`no scripted policy "${script}"; known: ${Object.keys(SCRIPTS).join(", ")}`);
  }
  return entry.create(options);
}
