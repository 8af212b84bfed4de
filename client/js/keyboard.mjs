// Keyboard -> ALE joystick action (the full 18-action set, docs/log-format.md).
//
// Arrows and WASD steer, Space fires; opposite directions cancel. Keys are named by
// KeyboardEvent.code (the physical key), so WASD works on any layout. The main thread owns a
// Keyboard and posts the held keys to the emulator worker, which calls actionFor() on every frame.

/** ALE action ids by name (ale_py.Action). */
export const Action = Object.freeze({
  NOOP: 0, FIRE: 1, UP: 2, RIGHT: 3, LEFT: 4, DOWN: 5,
  UPRIGHT: 6, UPLEFT: 7, DOWNRIGHT: 8, DOWNLEFT: 9,
  UPFIRE: 10, RIGHTFIRE: 11, LEFTFIRE: 12, DOWNFIRE: 13,
  UPRIGHTFIRE: 14, UPLEFTFIRE: 15, DOWNRIGHTFIRE: 16, DOWNLEFTFIRE: 17,
});

/** @typedef {"up" | "down" | "left" | "right" | "fire"} Control */

/** @type {Readonly<Record<string, Control>>} KeyboardEvent.code -> control. */
export const KEY_CONTROLS = Object.freeze({
  ArrowUp: "up", KeyW: "up",
  ArrowDown: "down", KeyS: "down",
  ArrowLeft: "left", KeyA: "left",
  ArrowRight: "right", KeyD: "right",
  Space: "fire",
});

// [vertical][horizontal] -> [action without fire, action with fire]; index 0 = none,
// vertical 1 = up, 2 = down; horizontal 1 = right, 2 = left.
const TABLE = [
  [[Action.NOOP, Action.FIRE], [Action.RIGHT, Action.RIGHTFIRE], [Action.LEFT, Action.LEFTFIRE]],
  [[Action.UP, Action.UPFIRE], [Action.UPRIGHT, Action.UPRIGHTFIRE], [Action.UPLEFT, Action.UPLEFTFIRE]],
  [[Action.DOWN, Action.DOWNFIRE], [Action.DOWNRIGHT, Action.DOWNRIGHTFIRE], [Action.DOWNLEFT, Action.DOWNLEFTFIRE]],
];

/**
 * The ALE action for a set of held keys.
 *
 * @param {Iterable<string>} held KeyboardEvent.code of every key held down
 * @returns {number} an ALE action id, 0..17
 */
export function actionFor(held) {
  const on = { up: false, down: false, left: false, right: false, fire: false };
  for (const code of held) {
    const control = KEY_CONTROLS[code];
    if (control !== undefined) on[control] = true;
  }
  const vertical = on.up === on.down ? 0 : on.up ? 1 : 2;
  const horizontal = on.left === on.right ? 0 : on.right ? 1 : 2;
  return TABLE[vertical][horizontal][on.fire ? 1 : 0];
}

/**
 * @typedef {object} KeyChange
 * @property {string} key KeyboardEvent.code
 * @property {boolean} down
 * @property {number} atMs when the event happened, epoch milliseconds with sub-ms precision
 *   (performance.timeOrigin + event.timeStamp, comparable with the worker's clock)
 * @property {string[]} held every game key held after this change
 */

/** Tracks the game keys held down on a target and reports each change. */
export class Keyboard {
  /**
   * @param {EventTarget} target usually `window`
   * @param {(change: KeyChange) => void} onChange called once per press or release (never for
   *   auto-repeat) while `enabled`; game keys typed into a form field or a dialog are not the
   *   game's
   * @param {() => boolean} [active] whether the game's view shows (keys are left alone when not)
   */
  constructor(target, onChange, active = () => true) {
    /** @type {Set<string>} */
    this.held = new Set();
    this.enabled = false;
    this._target = target;
    this._onChange = onChange;
    this._active = active;
    this._keydown = (/** @type {KeyboardEvent} */ e) => this._handle(e, true);
    this._keyup = (/** @type {KeyboardEvent} */ e) => this._handle(e, false);
    this._blur = () => this.releaseAll();
    target.addEventListener("keydown", this._keydown);
    target.addEventListener("keyup", this._keyup);
    target.addEventListener("blur", this._blur);
  }

  /**
   * @param {KeyboardEvent} e
   * @param {boolean} down
   */
  _handle(e, down) {
    if (!(e.code in KEY_CONTROLS) || !this._active()) return;
    if (e.target instanceof Element && e.target.closest("input, textarea, select, dialog")) {
      // Typing is not playing; but a key held since before a dialog opened is released.
      if (!down && this.held.delete(e.code)) {
        this._onChange({ key: e.code, down, atMs: performance.timeOrigin + e.timeStamp, held: [...this.held] });
      }
      return;
    }
    // No page scrolling on arrows/Space and no button activation on Space, also between games
    // (while a game-over notice shows): the keys stay the game's as long as this listens.
    e.preventDefault();
    if (e.repeat || this.held.has(e.code) === down) return;
    if (down && !this.enabled) return; // between games; a release still counts (no stuck key)
    if (down) this.held.add(e.code);
    else this.held.delete(e.code);
    this._onChange({ key: e.code, down, atMs: performance.timeOrigin + e.timeStamp, held: [...this.held] });
  }

  /** Releases every held key (the window lost focus, so their keyups would never arrive). */
  releaseAll() {
    const now = performance.timeOrigin + performance.now();
    for (const key of [...this.held]) {
      this.held.delete(key);
      this._onChange({ key, down: false, atMs: now, held: [...this.held] });
    }
  }

  /** Stops listening. */
  detach() {
    this.releaseAll();
    this._target.removeEventListener("keydown", this._keydown);
    this._target.removeEventListener("keyup", this._keyup);
    this._target.removeEventListener("blur", this._blur);
  }
}
