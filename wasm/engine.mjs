// The JS surface of CrowdPlay's WebAssembly ALE, shared by the Node tools (replay, trace,
// bench) and the browser worker. Typed in engine.d.ts.
//
// Setup is normative and identical to the Python verifier (see wasm/README.md):
// fresh ALE, setInt("random_seed"), setFloat("repeat_action_probability"),
// setInt("frame_skip", 1), setInt("max_num_frames_per_episode"), loadROM, setMode,
// setDifficulty, reset_game, then one act per frame, a log's RAM writes applied after their
// frames (wasm/events.mjs).

/** Raised for every invalid input or emulator error surfaced by this module. */
export class AleError extends Error {
  constructor(message) {
    super(message);
    this.name = "AleError";
  }
}

const NUM_ACTIONS = 18;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const isNode = typeof process === "object" && typeof process.versions?.node === "string";

/**
 * Loads the Emscripten module.
 *
 * @param {{wasmBinary?: ArrayBuffer | Uint8Array, jsUrl?: string | URL}} [options]
 *   jsUrl: where ale.js lives (default: client/build/ale.js next to this repo's wasm/).
 *   wasmBinary: the ale.wasm bytes; under Node they are read from next to ale.js when
 *   omitted (Emscripten 3.1.6 would otherwise try fetch() on a file path). In a browser,
 *   omitting it lets Emscripten fetch ale.wasm from next to ale.js.
 */
export async function loadAle({ wasmBinary, jsUrl } = {}) {
  const url = new URL(jsUrl ?? "../client/build/ale.js", import.meta.url);
  let binary = wasmBinary;
  if (binary === undefined && isNode) {
    const { readFile } = await import("node:fs/promises");
    binary = await readFile(new URL("ale.wasm", url));
  }
  const { default: createAleModule } = await import(url.href);
  return createAleModule(binary === undefined ? {} : { wasmBinary: binary });
}

function requireInt(value, name, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AleError(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Validates an episode log's `env` (and the seed) before any work starts. */
function validateEnv(env, seed) {
  if (env === null || typeof env !== "object") throw new AleError("env must be an object");
  if (typeof env.game !== "string" || !/^[a-z0-9_]{1,64}$/.test(env.game)) {
    throw new AleError(`env.game must be an ale-py ROM id like "space_invaders", got ${JSON.stringify(env.game)}`);
  }
  if (env.frameskip !== 1) {
    throw new AleError(`env.frameskip must be 1 (one action per emulator frame), got ${JSON.stringify(env.frameskip)}`);
  }
  if (env.players !== 1 && env.players !== 2) {
    throw new AleError(`env.players must be 1 or 2, got ${JSON.stringify(env.players)}`);
  }
  const p = env.repeat_action_probability;
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new AleError(`env.repeat_action_probability must be a number in [0, 1], got ${JSON.stringify(p)}`);
  }
  requireInt(env.max_num_frames_per_episode, "env.max_num_frames_per_episode", 0, INT32_MAX);
  requireInt(env.mode, "env.mode", 0, INT32_MAX);
  requireInt(env.difficulty, "env.difficulty", 0, INT32_MAX);
  if (env.rom_md5 !== undefined && (typeof env.rom_md5 !== "string" || !/^[0-9a-f]{32}$/.test(env.rom_md5))) {
    throw new AleError(`env.rom_md5 must be 32 lowercase hex digits, got ${JSON.stringify(env.rom_md5)}`);
  }
  requireInt(seed, "seed", INT32_MIN, INT32_MAX);
}

/**
 * Creates an emulator for one episode and performs the normative setup.
 *
 * @param module the object returned by loadAle()
 * @param {{romBytes: Uint8Array, env: object, seed: number}} options
 *   env: the episode log's env {game, rom_md5?, mode, difficulty, repeat_action_probability,
 *   frameskip (must be 1), max_num_frames_per_episode, players (1 or 2)}.
 * @throws {AleError} on any invalid setting, an unsupported ROM or a rom_md5 mismatch.
 */
export function createEmulator(module, { romBytes, env, seed }) {
  validateEnv(env, seed);
  if (!(romBytes instanceof Uint8Array)) throw new AleError("romBytes must be a Uint8Array");

  const emu = new module.Emulator();
  try {
    check(emu.configure(seed, env.repeat_action_probability, env.max_num_frames_per_episode));
    check(emu.loadRom(env.game, romBytes));
    if (env.rom_md5 !== undefined && emu.romMd5() !== env.rom_md5) {
      throw new AleError(`ROM md5 mismatch for ${env.game}: env.rom_md5 is ${env.rom_md5}, the ROM bytes have ${emu.romMd5()}`);
    }
    if (env.players === 2) check(emu.setTwoPlayerModeAndDifficulty(env.mode, env.difficulty));
    else check(emu.setModeAndDifficulty(env.mode, env.difficulty));
    emu.resetGame();
  } catch (e) {
    emu.delete();
    throw e;
  }
  return wrap(emu, env.players);
}

function check(error) {
  if (error !== "") throw new AleError(error);
}

function wrap(emu, players) {
  const validate = (actions) => {
    if (!Array.isArray(actions) || actions.length !== players) {
      throw new AleError(`act expects ${players} action(s), one per player, got ${JSON.stringify(actions)}`);
    }
    for (const a of actions) {
      if (!Number.isInteger(a) || a < 0 || a >= NUM_ACTIONS) {
        throw new AleError(`action must be an integer in 0..17, got ${JSON.stringify(a)}`);
      }
    }
  };
  return {
    players,
    romMd5: emu.romMd5(),
    // One player: exactly ale.act(a). Two players: environment->act(a, b + 18, 1, 1), player A's
    // reward as ALE gives it and player B's from the game's RAM rules (wasm/two_player.cpp).
    act:
      players === 1
        ? (actions) => (validate(actions), [emu.act(actions[0])])
        : (actions) => (validate(actions), [emu.act2(actions[0], actions[1]), emu.rewardB()]),
    ramDigest: () => emu.ramDigest(),
    ram: () => emu.ram(),
    // ALE's setRAM: a log's ram_write events (wasm/events.mjs, docs/log-format.md step 7).
    setRam: (address, value) => check(emu.setRam(address, value)),
    lives: () => (players === 1 ? [emu.lives()] : [emu.lives(), emu.livesB()]),
    gameOver: () => emu.gameOver(),
    truncated: () => emu.truncated(),
    frame: () => emu.episodeFrameNumber(),
    minimalActionSet: () => emu.minimalActionSet(),
    saveState: () => emu.saveState(),
    loadState: (bytes) => check(emu.loadState(bytes)),
    screenWidth: () => emu.screenWidth(),
    screenHeight: () => emu.screenHeight(),
    screenRGBA: () => emu.screenRGBA().slice(),
    reset: () => emu.resetGame(),
    delete: () => emu.delete(),
  };
}
