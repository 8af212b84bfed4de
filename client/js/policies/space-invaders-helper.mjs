// A scripted Space Invaders partner that reads the RAM (docs/policies.md, "Scripted policies"):
// in two-player Space Invaders (modes 33-64) it keeps its cannon in its half of the screen and
// fires under the lowest invader there. Player 2 (index 1, the right half) by default.
//
// RAM facts, checked against play in the WebAssembly emulator (tests/wasm/test_scripted_policies.py):
// - cannon x: RAM[28] (player 1), RAM[29] (player 2); both range over 35..117;
// - the invaders' formation x: RAM[26];
// - the invaders alive: RAM[18..23], one byte per row from the lowest (RAM[18], 5 points) to the
//   highest (RAM[23], 30 points); bit c is column c from the left; column c is under the cannon
//   when the cannon's x is RAM[26] + 16c + 3 (a shot from within 2 pixels of that hits).

export const GAME = "space_invaders";

const CANNON_X = [28, 29];
const FORMATION_X = 26;
const LOWEST_ROW = 18;
const ROWS = 6;
const COLUMNS = 6;
const COLUMN_SPACING = 16;
const AIM_OFFSET = 3;
/** The cannon's x range, and where the left half ends. */
export const X_MIN = 35;
export const X_MAX = 117;
export const X_MIDDLE = 76;

// ALE's full action set.
const NOOP = 0;
const FIRE = 1;
const RIGHT = 3;
const LEFT = 4;

export class SpaceInvadersHelper {
  /**
   * @param {{player?: number}} [options] the seat it plays: 0 (left half) or 1 (right half)
   */
  constructor({ player = 1 } = {}) {
    if (player !== 0 && player !== 1) throw new Error(`player must be 0 or 1, got ${player}`);
    this.player = player;
    /** The x range it keeps its cannon in. */
    this.half = player === 0 ? [X_MIN, X_MIDDLE] : [X_MIDDLE + 1, X_MAX];
  }

  /**
   * The action for this frame.
   * @param {Uint8Array} ram the 128 bytes of the console's RAM
   * @param {number} frame the episode frame number
   * @returns {number} an ALE action id (0..17)
   */
  act(ram, frame) {
    const x = ram[CANNON_X[this.player]];
    const target = this.target(ram, x);
    if (x < target - 1) return RIGHT;
    if (x > target + 1) return LEFT;
    // Fire on every other frame: a held button fires only once.
    return frame % 2 === 0 ? FIRE : NOOP;
  }

  /**
   * Where the cannon should be: under the nearest living invader of the lowest row that has one
   * in this half; else as near the nearest living invader as the half allows; else mid-half.
   * @param {Uint8Array} ram
   * @param {number} x the cannon's x
   */
  target(ram, x) {
    const [low, high] = this.half;
    let nearestAnywhere = null;
    for (let row = 0; row < ROWS; row++) {
      const alive = ram[LOWEST_ROW + row];
      let nearest = null;
      for (let column = 0; column < COLUMNS; column++) {
        if ((alive & (1 << column)) === 0) continue;
        const aim = ram[FORMATION_X] + COLUMN_SPACING * column + AIM_OFFSET;
        if (nearestAnywhere === null || Math.abs(aim - x) < Math.abs(nearestAnywhere - x)) {
          nearestAnywhere = aim;
        }
        if (aim < low || aim > high) continue;
        if (nearest === null || Math.abs(aim - x) < Math.abs(nearest - x)) nearest = aim;
      }
      if (nearest !== null) return nearest;
    }
    if (nearestAnywhere === null) return Math.round((low + high) / 2);
    return Math.min(high, Math.max(low, nearestAnywhere));
  }
}
