// Scripted policies (client/js/policies/) playing in the WebAssembly emulator:
// node wasm/policy_sim.mjs IN.json OUT.json [--roms DIR]
//
// IN = {"game", "mode", "players" (1 or 2), "seed", "repeat_action_probability", "frames",
//       "seats": one per player, each {"script": name, "options": {...}} (a scripted policy of
//       client/js/policies/index.mjs) or {"constant": action} or {"random": seed} (an action of
//       the full set drawn each frame from a seeded generator), "watch": RAM addresses}.
// Every frame each seat's action is taken from the RAM before the frame, as the browser would.
// Play stops after `frames` frames or at a game over.
// OUT = JSON {"frames": frames played, "actions": per seat its actions, "rewards": every non-zero
//   reward as [frame, seat, reward], "ram": {address: its value after every frame}}.
// The Python test (tests/wasm/test_scripted_policies.py) checks what they measure.
import { readFileSync, writeFileSync } from "node:fs";

import { createScriptedPolicy } from "../client/js/policies/index.mjs";
import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";
import { mulberry32 } from "./random.mjs";

/** A seat's action source: (ram, frame) -> action. */
function seat(spec) {
  if (typeof spec?.script === "string") {
    const policy = createScriptedPolicy(spec.script, spec.options ?? {});
    return (ram, frame) => policy.act(ram, frame);
  }
  if (Number.isInteger(spec?.constant)) return () => spec.constant;
  if (Number.isInteger(spec?.random)) {
    const next = mulberry32(spec.random);
    return () => Math.floor(next() * 18);
  }
  throw new AleError(`a seat is {"script"}, {"constant"} or {"random"}, got ${JSON.stringify(spec)}`);
}

runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) throw new AleError("usage: node wasm/policy_sim.mjs IN.json OUT.json [--roms DIR]");
  const [inPath, outPath] = positional;
  const spec = JSON.parse(readFileSync(inPath, "utf8"));
  const env = {
    game: spec.game,
    mode: spec.mode,
    difficulty: 0,
    repeat_action_probability: spec.repeat_action_probability,
    frameskip: 1,
    max_num_frames_per_episode: 0,
    players: spec.players,
  };
  if (!Array.isArray(spec.seats) || spec.seats.length !== spec.players) throw new AleError("one seat per player");
  const seats = spec.seats.map(seat);
  const romBytes = readRom(romDir(options.roms), spec.game);
  const emu = createEmulator(await loadAle(), { romBytes, env, seed: spec.seed });
  const watch = spec.watch ?? [];
  const out = {
    frames: 0,
    actions: seats.map(() => []),
    rewards: [],
    ram: Object.fromEntries(watch.map((address) => [address, []])),
  };
  for (let frame = 0; frame < spec.frames && !emu.gameOver(); frame++) {
    const ram = emu.ram();
    const actions = seats.map((next) => next(ram, frame));
    const rewards = emu.act(actions);
    const after = emu.ram();
    actions.forEach((action, i) => out.actions[i].push(action));
    rewards.forEach((reward, i) => {
      if (reward !== 0) out.rewards.push([frame, i, reward]);
    });
    for (const address of watch) out.ram[address].push(after[address]);
    out.frames++;
  }
  emu.delete();
  writeFileSync(outPath, JSON.stringify(out));
});
