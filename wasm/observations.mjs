// The browser's processed observations of an episode, in Node: node wasm/observations.mjs IN.json OUT.bin [--roms DIR]
//
// IN = {"log": a "crowdplay.episode/1" log (its env, seed and actions are read), "stack_n",
//       "downsample_frequency", "framestack_axis_first"}: the log is replayed in the WebAssembly
//       emulator as the browser plays it; the RGBA screen after the reset and after every frame
//       goes through client/js/observation.mjs (grayscaleFromRGBA, then an ObservationStack with
//       those options). Play stops at a game over or truncation, as replay.mjs does.
//   or {"screens": base64 of k grayscale screens (210*160 bytes each)}: each is resized alone
//       (observation.mjs's downsample);
//   or {"rgba": base64 of n RGBA pixels}: their grayscale (grayscaleFromRGBA).
// OUT = one line of JSON, then bytes. For a log: {"frames": F, "observations": N,
//   "observation_bytes": B}, then the F + 1 grayscale screens (after the reset, then after each
//   frame) and the N observations (the reset's, then one after every complete step) of B bytes
//   each. For screens: {"frames": k}, then the k resized 84*84 frames. For rgba: {"pixels": n},
//   then n grayscale bytes.
// The Python test (tests/wasm/test_observation.py) compares them with ale-py's grayscale screens
// and crowdplay.datasets' processed trajectory.
import { readFileSync, writeFileSync } from "node:fs";

import { ObservationStack, downsample, grayscaleFromRGBA, SIZE } from "../client/js/observation.mjs";
import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";

/** Replays `log` and returns its grayscale screens and observations, each a Uint8Array. */
function observe(emu, log, options) {
  const players = log.env.players;
  const actions = log.actions;
  if (!Array.isArray(actions) || actions.length !== players || !actions.every(Array.isArray)) {
    throw new AleError(`log.actions must be a list of ${players} list(s), one per player`);
  }
  const stack = new ObservationStack(options);
  const screens = [];
  const observations = [];
  const screen = () => {
    const gray = grayscaleFromRGBA(emu.screenRGBA());
    screens.push(gray);
    return gray;
  };
  stack.reset(screen());
  observations.push(stack.observation());
  for (let n = 0; n < actions[0].length; n++) {
    emu.act(actions.map((list) => list[n]));
    if (stack.push(screen())) observations.push(stack.observation());
    if (emu.gameOver() || emu.truncated()) break;
  }
  return { screens, observations };
}

function write(path, header, parts) {
  const head = new TextEncoder().encode(JSON.stringify(header) + "\n");
  const out = new Uint8Array(head.length + parts.reduce((n, p) => n + p.length, 0));
  out.set(head);
  let at = head.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  writeFileSync(path, out);
}

runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) throw new AleError("usage: node wasm/observations.mjs IN.json OUT.bin [--roms DIR]");
  const [inPath, outPath] = positional;
  const spec = JSON.parse(readFileSync(inPath, "utf8"));
  if (typeof spec.screens === "string") {
    const bytes = new Uint8Array(Buffer.from(spec.screens, "base64"));
    const screenBytes = 210 * 160;
    if (bytes.length % screenBytes !== 0) throw new AleError(`screens must be a whole number of ${screenBytes}-byte screens`);
    const frames = [];
    for (let at = 0; at < bytes.length; at += screenBytes) frames.push(downsample(bytes.subarray(at, at + screenBytes)));
    write(outPath, { frames: frames.length }, frames);
    return;
  }
  if (typeof spec.rgba === "string") {
    const rgba = new Uint8Array(Buffer.from(spec.rgba, "base64"));
    if (rgba.length % 4 !== 0) throw new AleError("rgba must be a whole number of 4-byte pixels");
    write(outPath, { pixels: rgba.length / 4 }, [grayscaleFromRGBA(rgba)]);
    return;
  }
  const log = spec.log;
  if (log?.format !== "crowdplay.episode/1") throw new AleError('IN must have "screens", "rgba" or a "crowdplay.episode/1" "log"');
  const stackOptions = {
    stackSize: spec.stack_n ?? 4,
    frameSkip: spec.downsample_frequency ?? 4,
    axisFirst: spec.framestack_axis_first ?? false,
  };
  const romBytes = readRom(romDir(options.roms), log.env.game);
  const emu = createEmulator(await loadAle(), { romBytes, env: log.env, seed: log.seed });
  const { screens, observations } = observe(emu, log, stackOptions);
  emu.delete();
  const header = {
    frames: screens.length - 1,
    observations: observations.length,
    observation_bytes: stackOptions.stackSize * SIZE * SIZE,
  };
  write(outPath, header, [...screens, ...observations]);
});
