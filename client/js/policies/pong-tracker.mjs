// A scripted Pong player that reads the RAM (docs/policies.md, "Scripted policies"): it moves its
// paddle toward the ball's height. Player 1 (index 0, the right paddle, the only one in
// one-player Pong) by default.
//
// RAM facts, checked against play in the WebAssembly emulator (tests/wasm/test_scripted_policies.py):
// - paddle y: RAM[51] (player 1), RAM[50] (player 2); 38 at the top, 203 at the bottom;
// - ball y: RAM[54], 0 while no ball is in play;
// - RIGHT moves either paddle up, LEFT down.

export const GAME = "pong";

const PADDLE_Y = [51, 50];
const BALL_Y = 54;
/** The paddle's y when its middle is level with the ball. */
const BALL_TO_PADDLE = -6;
/** Closer than this, the paddle stays still (no jitter). */
const DEAD_BAND = 2;

const NOOP = 0;
const UP = 3; // RIGHT
const DOWN = 4; // LEFT

export class PongTracker {
  /**
   * @param {{player?: number}} [options] the paddle it moves: 0 (right) or 1 (left)
   */
  constructor({ player = 0 } = {}) {
    if (player !== 0 && player !== 1) throw new Error(`player must be 0 or 1, got ${player}`);
    this.player = player;
  }

  /**
   * The action for this frame.
   * @param {Uint8Array} ram the 128 bytes of the console's RAM
   * @param {number} _frame the episode frame number (unused: the tracker only looks at the ball)
   * @returns {number} an ALE action id (0..17)
   */
  act(ram, _frame) {
    const ball = ram[BALL_Y];
    if (ball === 0) return NOOP;
    const paddle = ram[PADDLE_Y[this.player]];
    const target = ball + BALL_TO_PADDLE;
    if (paddle > target + DEAD_BAND) return UP;
    if (paddle < target - DEAD_BAND) return DOWN;
    return NOOP;
  }
}
