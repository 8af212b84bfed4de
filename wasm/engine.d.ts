// Typed surface of wasm/engine.mjs.
import type { AleModule } from "./ale";

/** Raised for every invalid input or emulator error surfaced by engine.mjs. */
export declare class AleError extends Error {
  name: "AleError";
}

/** The `env` object of a "crowdplay.episode/1" log. */
export interface EpisodeEnv {
  /** ale-py ROM id, e.g. "space_invaders". */
  game: string;
  /** If present, must equal the MD5 of the ROM bytes. */
  rom_md5?: string;
  ale_version?: string;
  mode: number;
  difficulty: number;
  repeat_action_probability: number;
  /** Must be 1. */
  frameskip: number;
  /** 0 = no limit. */
  max_num_frames_per_episode: number;
  players: 1 | 2;
}

export interface LoadAleOptions {
  /** ale.wasm bytes; under Node read from next to ale.js when omitted. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** URL of ale.js (default: ../client/build/ale.js relative to engine.mjs). */
  jsUrl?: string | URL;
}

export declare function loadAle(options?: LoadAleOptions): Promise<AleModule>;

export interface CreateEmulatorOptions {
  romBytes: Uint8Array;
  env: EpisodeEnv;
  /** Server-issued seed, a 32-bit signed integer. */
  seed: number;
}

export interface EpisodeEmulator {
  readonly players: 1 | 2;
  readonly romMd5: string;
  /** One frame; one action (0..17) per player. Returns rewards per player; player B's is 0
   *  (ALE 0.12.1 scores player A only). */
  act(actions: number[]): number[];
  /** Hex of the first 8 bytes of SHA-256 over the 128 RAM bytes. */
  ramDigest(): string;
  ram(): Uint8Array;
  /** ALE's setRAM (address 0..127, value 0..255); throws AleError outside them. */
  setRam(address: number, value: number): void;
  /** Remaining lives per player (player B: from the two-player RAM rules). */
  lives(): number[];
  /** Game over without truncation. */
  gameOver(): boolean;
  truncated(): boolean;
  /** Frames since the last reset (episode frame number). */
  frame(): number;
  minimalActionSet(): number[];
  /** Browser-only state blob (RNG included); not portable to native ale-py. */
  saveState(): Uint8Array;
  /** Throws AleError for a corrupted blob or one saved for another ROM. */
  loadState(bytes: Uint8Array): void;
  screenWidth(): number;
  screenHeight(): number;
  /** Copy of the screen, width*height*4 RGBA bytes (alpha 255). */
  screenRGBA(): Uint8Array;
  /** reset_game (RNG not reseeded). */
  reset(): void;
  /** Frees the emulator; the object must not be used afterwards. */
  delete(): void;
}

/** Creates an emulator and performs the normative setup; throws AleError on invalid input. */
export declare function createEmulator(module: AleModule, options: CreateEmulatorOptions): EpisodeEmulator;
