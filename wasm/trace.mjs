// Determinism harness: node wasm/trace.mjs IN.json OUT.bin [--roms DIR]
//
// IN = {"game", "seed", "mode", "difficulty", "repeat_action_probability",
//       "max_num_frames_per_episode", "actions": [player A's actions]}.
// Normative setup, then per action: r = act(a); write the 128 RAM bytes, the reward as
// int32 little-endian, and a flag byte (bit0 game over without truncation, bit1
// truncated): 133 bytes per frame. After a frame with game over or truncation, reset
// (reset_game; the sticky-action RNG is not reseeded) and go on with the next action.
// The Python side runs the same loop on ale_py.ALEInterface and compares the bytes.
import { readFileSync, writeFileSync } from "node:fs";

import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";

const RECORD = 133;

runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) throw new AleError("usage: node wasm/trace.mjs IN.json OUT.bin [--roms DIR]");
  const [inPath, outPath] = positional;
  const spec = JSON.parse(readFileSync(inPath, "utf8"));
  if (!Array.isArray(spec.actions)) throw new AleError("IN.actions must be a list of ints 0..17");
  const env = {
    game: spec.game,
    mode: spec.mode,
    difficulty: spec.difficulty,
    repeat_action_probability: spec.repeat_action_probability,
    frameskip: 1,
    max_num_frames_per_episode: spec.max_num_frames_per_episode,
    players: 1,
  };
  const romBytes = readRom(romDir(options.roms), spec.game);
  const emu = createEmulator(await loadAle(), { romBytes, env, seed: spec.seed });

  const out = Buffer.alloc(spec.actions.length * RECORD);
  spec.actions.forEach((a, i) => {
    const [reward] = emu.act([a]);
    const base = i * RECORD;
    out.set(emu.ram(), base);
    out.writeInt32LE(reward, base + 128);
    const over = emu.gameOver();
    const truncated = emu.truncated();
    out[base + 132] = (over ? 1 : 0) | (truncated ? 2 : 0);
    if (over || truncated) emu.reset();
  });
  emu.delete();
  writeFileSync(outPath, out);
});
