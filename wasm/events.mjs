// The events of a "crowdplay.episode/2" log as the WebAssembly emulator applies them: the
// browser's twin of verifier/events.py. Normative replay step 7 (docs/log-format.md): after
// frame f's act (frame 0: after the reset), every ram_write event at f is applied in log order,
// each [address, value] pair by setRAM, before the checkpoint at f is taken and before the
// game's end is read. Prompts change nothing in the emulator. Typed in events.d.ts.
import { AleError } from "./engine.mjs";

const MAX_FRAMES = 2 ** 31 - 1;

/**
 * The ram_write events of `events` (a log's `events` list, or undefined), by frame.
 * Checks frames (sorted, 0..2^31-1), addresses (0..127) and values (0..255), naming the bad field.
 *
 * @param {Array<object> | undefined} events
 * @returns {Map<number, Array<[number, number]>>}
 */
export function ramWritesByFrame(events) {
  const byFrame = new Map();
  if (events === undefined) return byFrame;
  if (!Array.isArray(events)) throw new AleError("events must be a list");
  let last = 0;
  events.forEach((event, i) => {
    const where = `events[${i}]`;
    const frame = event?.frame;
    if (!Number.isInteger(frame) || frame < 0 || frame > MAX_FRAMES) {
      throw new AleError(`${where}.frame must be an integer in 0..${MAX_FRAMES}, got ${JSON.stringify(frame)}`);
    }
    if (frame < last) throw new AleError(`${where}.frame ${frame} comes before the previous event's ${last}; events must be sorted by frame`);
    last = frame;
    if (event.kind === "prompt") return;
    if (event.kind !== "ram_write") throw new AleError(`${where}.kind must be "ram_write" or "prompt", got ${JSON.stringify(event.kind)}`);
    if (!Array.isArray(event.writes) || event.writes.length === 0) throw new AleError(`${where}.writes must be a non-empty list of [address, value]`);
    for (const pair of event.writes) {
      const ok = Array.isArray(pair) && pair.length === 2 && Number.isInteger(pair[0]) && Number.isInteger(pair[1]);
      if (!ok || pair[0] < 0 || pair[0] > 127 || pair[1] < 0 || pair[1] > 255) {
        throw new AleError(`${where}.writes: each write must be [address 0-127, value 0-255], got ${JSON.stringify(pair)}`);
      }
    }
    if (!byFrame.has(frame)) byFrame.set(frame, []);
    byFrame.get(frame).push(...event.writes.map(([address, value]) => [address, value]));
  });
  return byFrame;
}

/**
 * Applies the writes at `frame` (none if there are none) to an emulator from createEmulator.
 *
 * @param {{setRam(address: number, value: number): void}} emu
 * @param {Map<number, Array<[number, number]>>} byFrame from ramWritesByFrame
 * @param {number} frame frames emulated so far (0 right after the reset)
 */
export function applyRamWrites(emu, byFrame, frame) {
  for (const [address, value] of byFrame.get(frame) ?? []) emu.setRam(address, value);
}
