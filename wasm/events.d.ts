// Typed surface of wasm/events.mjs.

/** A RAM write: [address 0..127, value 0..255]. */
export type RamWrite = [number, number];

/** One event of a "crowdplay.episode/2" log (docs/log-format.md). */
export interface EpisodeEvent {
  /** The event happens after this frame's act (0: after the reset). */
  frame: number;
  kind: "ram_write" | "prompt";
  /** ram_write only. */
  writes?: RamWrite[];
  /** prompt only. */
  text?: string;
  warning?: { frames: number; text: string };
  name?: string;
}

/** The ram_write events by frame; throws AleError naming the bad field. */
export declare function ramWritesByFrame(events: EpisodeEvent[] | undefined): Map<number, RamWrite[]>;

/** Applies the writes at `frame` (none if there are none). */
export declare function applyRamWrites(
  emu: { setRam(address: number, value: number): void },
  byFrame: Map<number, RamWrite[]>,
  frame: number,
): void;
