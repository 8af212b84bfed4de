// Determinism harness: node wasm/trace.mjs IN.json OUT.bin [--roms DIR]
//
// IN = {"game", "seed", "mode", "difficulty", "repeat_action_probability",
//       "max_num_frames_per_episode", "actions": [player A's actions],
//       optional "actions_b": [player B's actions] for a two-player mode}.
// Normative setup, then per frame: the rewards = act(actions); write the 128 RAM bytes, each
// player's reward as int32 little-endian, and a flag byte (bit0 game over without truncation,
// bit1 truncated): 133 bytes per frame for one player, 137 for two. After a frame with game
// over or truncation, reset (reset_game; the sticky-action RNG is not reseeded; a two-player
// mode is entered again) and go on with the next actions. The Python side runs the same loop
// on ale-py (one player) or the native build (two) and compares the bytes.
import { readFileSync, writeFileSync } from "node:fs";

import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";


runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) throw new AleError("usage: node wasm/trace.mjs IN.json OUT.bin [--roms DIR]");
  const [inPath, outPath] = positional;
  const spec = JSON.parse(readFileSync(inPath, "utf8"));
  if (!Array.isArray(spec.actions)) throw new AleError("IN.actions must be a list of ints 0..17");
  const players = spec.actions_b === undefined ? 1 : 2;
  if (players === 2 && (!Array.isArray(spec.actions_b) || spec.actions_b.length !== spec.actions.length)) {
    throw new AleError("IN.actions_b must be a list of ints 0..17 as long as IN.actions");
  }
  const record = 128 + 4 * players + 1;
  const env = {
    game: spec.game,
    mode: spec.mode,
    difficulty: spec.difficulty,
    repeat_action_probability: spec.repeat_action_probability,
    frameskip: 1,
    max_num_frames_per_episode: spec.max_num_frames_per_episode,
    players,
  };
  const romBytes = readRom(romDir(options.roms), spec.game);
  const emu = createEmulator(await loadAle(), { romBytes, env, seed: spec.seed });

  const out = Buffer.alloc(spec.actions.length * record);
  spec.actions.forEach((a, i) => {
    const rewards = emu.act(players === 1 ? [a] : [a, spec.actions_b[i]]);
    const base = i * record;
    out.set(emu.ram(), base);
    rewards.forEach((r, p) => out.writeInt32LE(r, base + 128 + 4 * p));
    const over = emu.gameOver();
    const truncated = emu.truncated();
    out[base + record - 1] = (over ? 1 : 0) | (truncated ? 2 : 0);
    if (over || truncated) emu.reset();
  });
  emu.delete();
  writeFileSync(outPath, out);
});
