// Who is who in a two-player game (docs/two-players.md): what each seat controls, in words a
// participant can match to the screen. Seat 0 is ALE's player A, seat 1 player B. Each was
// checked by moving one seat alone in the native emulator and looking at the frame. A task's
// seat may be an AI partner (`ai:<policy>`, docs/tasks.md): its manifest comes from
// GET /api/policies/<name> and the emulator worker plays it (partner.mjs).
import { request } from "./api.mjs";
import { retrying } from "./retry.mjs";

/** @typedef {import("./messages").PartnerSpec} PartnerSpec */

/** @type {Record<string, [string, string]>} game → [seat 0, seat 1] */
const SEATS = {
  space_invaders: ["the green cannon (starts on the left)", "the yellow cannon (starts on the right)"],
  pong: ["the green paddle on the right", "the orange paddle on the left"],
  boxing: ["the white boxer", "the black boxer"],
  tennis: ["the orange player (starts at the far end)", "the blue player (starts at the near end)"],
  ice_hockey: ["the blue team (defends the top goal)", "the yellow team (defends the bottom goal)"],
};

/**
 * Games whose two-player rewards are zero-sum (a point for one is minus one for the other): the
 * score shown is the participant's cumulative reward, i.e. their lead, and the partner's would
 * only be its negative — the screen shows both players' points.
 */
const ZERO_SUM = new Set(["pong", "boxing", "tennis", "ice_hockey", "surround"]);

/**
 * Whether the page shows the partner's score beside the participant's (games whose players score
 * on their own, as in Space Invaders).
 * @param {string} game
 */
export function showsPartnerScore(game) {
  return !ZERO_SUM.has(game);
}

/**
 * "You are player 1: the green cannon (starts on the left)", or without a description for a
 * game not in the table.
 * @param {string} game
 * @param {number} seat 0 or 1
 */
export function seatLabel(game, seat) {
  const what = SEATS[game]?.[seat];
  return what ? `You are player ${seat + 1}: ${what}` : `You are player ${seat + 1} of 2`;
}

/**
 * The task's AI partner, with its policy's manifest (retried until the server answers), or null
 * when every seat is human.
 * @param {{seats?: string[]}} task
 * @param {(text: string | null) => void} status what the request waits for
 * @returns {Promise<PartnerSpec | null>}
 */
export async function loadPartner(task, status) {
  const seats = task.seats ?? [];
  const seat = seats.findIndex((s) => s.startsWith("ai:"));
  if (seat < 0) return null;
  const controller = seats[seat];
  const name = controller.slice("ai:".length);
  const manifest = await retrying(() => request(`/api/policies/${encodeURIComponent(name)}`), {
    status,
    doing: "Loading your AI partner",
  });
  return { seat, controller, manifest, modelUrl: manifest.model_url };
}

/**
 * "Your partner: an AI (space-invaders-helper), the yellow cannon (starts on the right)".
 * @param {string} game
 * @param {PartnerSpec} partner
 */
export function partnerLabel(game, partner) {
  const what = SEATS[game]?.[partner.seat];
  const who = `Your partner: an AI (${partner.manifest.name})`;
  return what ? `${who}, ${what}.` : `${who}, player ${partner.seat + 1}.`;
}
