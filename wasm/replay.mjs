// Replays an episode log in the WebAssembly emulator, exactly as the browser does, and
// fills in its checkpoints and end:
//
//   node wasm/replay.mjs IN.json OUT.json [--roms DIR]
//
// IN is a "crowdplay.episode/1" or "/2" log; this reads `env`, `seed`, `actions` (one list per
// player, ints 0..17), `checkpoint_interval` (K, default 60) and, in /2, `events` (RAM writes
// applied after their frames, wasm/events.mjs; events past the end are dropped). OUT is the same log with
// `checkpoints` = [{frame, digest, rewards}] after every K frames and after the last frame
// (once), and `end` = {frame, reason}; every other field is kept. If actions continue past
// the end of the game they are trimmed (with a warning on stderr). Bad input: exit 2.
import { readFileSync, writeFileSync } from "node:fs";

import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { applyRamWrites, ramWritesByFrame } from "./events.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";

const FORMAT = "crowdplay.episode/1";
const FORMAT_WITH_EVENTS = "crowdplay.episode/2";
const DEFAULT_CHECKPOINT_INTERVAL = 60;

/** Checks the parts of the log replay needs; returns [actions per player, K, writes by frame]. */
function validateLog(log) {
  if (log === null || typeof log !== "object") throw new AleError("the episode log must be a JSON object");
  if (log.format !== FORMAT && log.format !== FORMAT_WITH_EVENTS) {
    throw new AleError(`unsupported log format ${JSON.stringify(log.format)}; this tool reads ${FORMAT} and ${FORMAT_WITH_EVENTS}`);
  }
  if (log.format === FORMAT && log.events !== undefined) {
    throw new AleError(`events needs format ${FORMAT_WITH_EVENTS}: a ${FORMAT} reader would replay the log without applying them`);
  }
  if (log.format === FORMAT_WITH_EVENTS && !(Array.isArray(log.events) && log.events.length > 0)) {
    throw new AleError(`a ${FORMAT_WITH_EVENTS} log must have at least one event; one without is ${FORMAT}`);
  }
  const players = log.env?.players;
  if (players !== 1 && players !== 2) throw new AleError(`env.players must be 1 or 2, got ${JSON.stringify(players)}`);
  const actions = log.actions;
  if (!Array.isArray(actions) || actions.length !== players || !actions.every(Array.isArray)) {
    throw new AleError(`actions must be a list of ${JSON.stringify(players)} list(s), one per player (env.players)`);
  }
  if (actions.some((list) => list.length !== actions[0].length)) {
    throw new AleError(`every player's action list must have the same length, got ${actions.map((l) => l.length).join(", ")}`);
  }
  const k = log.checkpoint_interval ?? DEFAULT_CHECKPOINT_INTERVAL;
  if (!Number.isInteger(k) || k < 1) throw new AleError(`checkpoint_interval must be a positive integer, got ${JSON.stringify(k)}`);
  return [actions, k, ramWritesByFrame(log.events)];
}

/** Replays the log; returns {checkpoints, end}. */
function replay(emu, actions, k, writes) {
  const frames = actions[0].length;
  const totals = actions.map(() => 0);
  const checkpoints = [];
  const checkpoint = (frame) => checkpoints.push({ frame, digest: emu.ramDigest(), rewards: [...totals] });
  let reason = "ended_by_participant";
  let n = 0;
  applyRamWrites(emu, writes, 0);
  while (n < frames) {
    const rewards = emu.act(actions.map((list) => list[n]));
    rewards.forEach((r, p) => (totals[p] += r));
    n += 1;
    applyRamWrites(emu, writes, n);
    if (n % k === 0) checkpoint(n);
    if (emu.gameOver()) {
      reason = "game_over";
      break;
    }
    if (emu.truncated()) {
      reason = "truncated";
      break;
    }
  }
  if (checkpoints.length === 0 || checkpoints[checkpoints.length - 1].frame !== n) checkpoint(n);
  return { checkpoints, end: { frame: n, reason } };
}

runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) throw new AleError("usage: node wasm/replay.mjs IN.json OUT.json [--roms DIR]");
  const [inPath, outPath] = positional;
  let log;
  try {
    log = JSON.parse(readFileSync(inPath, "utf8"));
  } catch (e) {
    throw new AleError(`cannot read ${inPath}: ${e.message}`);
  }
  const [actions, k, writes] = validateLog(log);
  const romBytes = readRom(romDir(options.roms), log.env.game);
  const emu = createEmulator(await loadAle(), { romBytes, env: log.env, seed: log.seed });
  const { checkpoints, end } = replay(emu, actions, k, writes);
  emu.delete();

  if (end.frame < actions[0].length) {
    process.stderr.write(
      `warning: the game ended (${end.reason}) at frame ${end.frame} but the log has ${actions[0].length} actions; trimmed\n`,
    );
    log.actions = actions.map((list) => list.slice(0, end.frame));
  }
  if (log.events !== undefined) {
    log.events = log.events.filter((event) => event.frame <= end.frame);
    if (log.events.length === 0) {
      delete log.events;
      log.format = FORMAT;
    }
  }
  log.checkpoints = checkpoints;
  log.end = end;
  writeFileSync(outPath, JSON.stringify(log) + "\n");
});
