// Types of the raw Emscripten/embind module built from wasm/shim.cpp (client/build/ale.js).
// Most callers should use engine.mjs (engine.d.ts), which validates inputs and performs the
// normative setup.

/** Error strings: "" means success, anything else is a one-line message. */
type ErrorString = string;

/** One ALE instance (embind class). Free it with delete(). */
export interface Emulator {
  /** setInt("random_seed"), setFloat("repeat_action_probability"), setInt("frame_skip", 1),
   *  setInt("max_num_frames_per_episode"), in that order. Before loadRom. */
  configure(seed: number, repeatActionProbability: number, maxNumFramesPerEpisode: number): ErrorString;
  /** Checks the MD5 is a supported ROM whose ALE id is `name`, writes /roms/<name>.bin, loadROM. */
  loadRom(name: string, bytes: Uint8Array | ArrayBuffer): ErrorString;
  /** Validates against the available modes/difficulties, then setMode and setDifficulty. */
  setModeAndDifficulty(mode: number, difficulty: number): ErrorString;
  /** A two-player mode (wasm/two_player.cpp), entered at every resetGame. */
  setTwoPlayerModeAndDifficulty(mode: number, difficulty: number): ErrorString;
  /** reset_game (the sticky-action RNG is not reseeded). */
  resetGame(): void;
  /** ale.act(a): one frame for player A; returns player A's reward. Throws on a <0 or >17. */
  act(a: number): number;
  /** environment->act(a, b + 18, 1, 1); returns player A's reward (ALE does not score player B). */
  act2(a: number, b: number): number;
  /** Player B's reward on the last act2 frame, from the game's RAM rules. */
  rewardB(): number;
  /** Player B's lives, from the game's RAM rules. */
  livesB(): number;
  /** Whether a two-player mode is selected. */
  twoPlayer(): boolean;
  /** Game over without truncation. */
  gameOver(): boolean;
  truncated(): boolean;
  lives(): number;
  episodeFrameNumber(): number;
  frameNumber(): number;
  /** MD5 of the loaded ROM ("" before loadRom). */
  romMd5(): string;
  getAvailableModes(): number[];
  getAvailableDifficulties(): number[];
  minimalActionSet(): number[];
  /** Copy of the 128 RAM bytes. */
  ram(): Uint8Array;
  setRam(index: number, value: number): ErrorString;
  /** Hex of the first 8 bytes of SHA-256 over the 128 RAM bytes (16 characters). */
  ramDigest(): string;
  /** cloneState(true) (RNG included), framed with magic, ROM MD5 and SHA-256. Not portable to native. */
  saveState(): Uint8Array;
  loadState(bytes: Uint8Array): ErrorString;
  screenWidth(): number;
  screenHeight(): number;
  /** VIEW into wasm memory of width*height*4 RGBA bytes; valid until the next call into the module. */
  screenRGBA(): Uint8Array;
  /** Frees the C++ object. */
  delete(): void;
}

export interface AleModule {
  Emulator: { new (): Emulator };
  /** "0.12.1" */
  ALE_VERSION: string;
}

export interface AleModuleOptions {
  /** The ale.wasm bytes (required under Node: Emscripten 3.1.6 would try fetch() on a path). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  locateFile?: (path: string, scriptDirectory: string) => string;
}

declare function createAleModule(options?: AleModuleOptions): Promise<AleModule>;
export default createAleModule;
