// Who is who in a two-player game (docs/two-players.md): what each seat controls, in words a
// participant can match to the screen. Seat 0 is ALE's player A, seat 1 player B. Each was
// checked by moving one seat alone in the native emulator and looking at the frame.

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
