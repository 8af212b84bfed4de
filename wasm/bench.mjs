// Emulation speed of the WebAssembly build:
//
//   node wasm/bench.mjs --game space_invaders --frames 20000 [--roms DIR]
//
// Plays pseudo-random actions (a fixed LCG, so every run does the same work) with sticky
// actions 0.25, resetting on game over or truncation, and prints one JSON line:
// {"game", "frames", "seconds", "frames_per_second"}. Loading and setup are not timed.
import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";

runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2), ["--game", "--frames"]);
  const game = options.game ?? "space_invaders";
  const frames = Number(options.frames ?? 20000);
  if (positional.length !== 0 || !Number.isInteger(frames) || frames < 1) {
    throw new AleError("usage: node wasm/bench.mjs --game GAME --frames N [--roms DIR]");
  }
  const env = {
    game,
    mode: 0,
    difficulty: 0,
    repeat_action_probability: 0.25,
    frameskip: 1,
    max_num_frames_per_episode: 108000,
    players: 1,
  };
  const emu = createEmulator(await loadAle(), { romBytes: readRom(romDir(options.roms), game), env, seed: 0 });

  let x = 12345;
  const start = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0; // x = (x * 1103515245 + 12345) mod 2^32
    emu.act([(x >>> 16) % 18]);
    if (emu.gameOver() || emu.truncated()) emu.reset();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  emu.delete();
  console.log(JSON.stringify({ game, frames, seconds: +seconds.toFixed(3), frames_per_second: Math.round(frames / seconds) }));
});
