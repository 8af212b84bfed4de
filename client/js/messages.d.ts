// The typed boundary of the participant client: protocol values (docs/protocol.md), the
// messages between the play view (play.mjs) and the emulator worker (emulator.worker.mjs), and
// the play view as the session (session.mjs) drives it. The .mjs modules reference these types
// from JSDoc (`import("./messages").X`).
import type { EpisodeEnv } from "../../wasm/engine";
import type { Task } from "./api.mjs";

export type { EpisodeEnv };

/** A checkpoint: RAM digest and cumulative rewards after `frame` (docs/log-format.md). */
export interface Checkpoint {
  frame: number;
  /** 16 lowercase hex digits: SHA-256 of the 128 RAM bytes, first 8 bytes. */
  digest: string;
  /** Cumulative reward per player from frame 1 through `frame`. */
  rewards: number[];
}

export type EndReason = "game_over" | "truncated" | "ended_by_participant" | "partner_left";
/** How a two-player episode ends (docs/two-players.md). */
export type MatchEndReason = EndReason;

export interface End {
  frame: number;
  reason: EndReason;
}

/** `[frame, KeyboardEvent.code, 1 | 0]`: the frame on which a key change took effect. */
export type KeyRecord = [number, string, 0 | 1];
/** `[frame, "hidden" | "visible", epoch ms]`. */
export type PauseRecord = [number, "hidden" | "visible", number];

export interface ChunkTiming {
  sent_at_ms: number;
  keys: KeyRecord[];
  pauses: PauseRecord[];
}

/** A chunk as the worker produces it; the stream adds `type` and `seq`. */
export interface ChunkBody {
  /** Frames before this chunk. */
  start: number;
  /** One array per player of ALE action ids. */
  actions: number[][];
  checkpoints: Checkpoint[];
  end: End | null;
  client: ChunkTiming;
  /** Per player, who played the chunk's frames (run-length); only with an AI partner. */
  controllers?: ControllerRun[][];
}

/** A run of frames one controller played (docs/log-format.md, `controllers`). */
export interface ControllerRun {
  /** "human" or "ai:<policy>". */
  controller: string;
  frames: number;
}

/** A policy manifest as GET /api/policies/<name> answers it (docs/policies.md). */
export interface PolicyManifest {
  format: "crowdplay.policy/1";
  name: string;
  kind: "onnx" | "scripted";
  game: string;
  players: number[];
  action_repeat: number;
  script: string | null;
  observation: string | null;
  actions: number | null;
  model_url?: string;
}

/** A task's AI partner, as the page gives it to the emulator worker (partner.mjs). */
export interface PartnerSpec {
  /** The seat it plays (0 or 1); the participant plays the other. */
  seat: number;
  /** "ai:<policy>", the controller the chunks name for its frames. */
  controller: string;
  manifest: PolicyManifest;
  /** An ONNX policy's model (the manifest's `model_url`). */
  modelUrl?: string;
}

/** What the partner did so far in an episode (the page's debug surface `partner`). */
export interface PartnerStats {
  policy: string;
  kind: "onnx" | "scripted";
  seat: number;
  /** Frames played with each action id 0..17. */
  counts: number[];
  /** ONNX: inferences answered, their milliseconds in the policy worker (the latest ones),
   *  the model's load time, and the error that stopped the policy (it then stands still). */
  inferences: number;
  inferenceMs: number[];
  loadMs: number | null;
  error: string | null;
}

/** The WebSocket chunk message. */
export interface Chunk extends ChunkBody {
  type: "chunk";
  seq: number;
}

/**
 * An episode's grant: POST /api/episodes, and GET /api/session's `open_episode` (to resume it).
 * Where to fetch the ROM and where to stream come from here, never from the client's own routes.
 */
export interface EpisodeGrant {
  episode_id: string;
  seed: number;
  env: EpisodeEnv;
  checkpoint_interval: number;
  max_chunk_frames: number;
  /** The ROM's URL (a path on this origin). */
  rom_url: string;
  /** The episode's WebSocket (absolute, or a path on this origin). */
  ws_url: string;
  /** The next chunk sequence number the server expects (0 for a new episode). */
  next_seq: number;
  /** Frames the server holds (0 for a new episode). */
  frames: number;
  /** Two players (docs/two-players.md): this participant's seat, 0 = player A. */
  seat?: 0 | 1;
  /** Two players: the match's relay WebSocket (absolute, or a path on this origin). */
  relay_url?: string;
}

/** The relay's messages a two-player episode's worker handles (docs/two-players.md). */
export type RelayIncoming =
  | { type: "partner_inputs"; start: number; actions: number[] }
  | { type: "desync"; frame: number; expected: string }
  | { type: "state_request"; frame: number }
  /** `rewards` (the partner's cumulative rewards at `frame`) is ours, beyond the contract. */
  | { type: "state"; frame: number; blob: string; rewards?: number[] };

/** GET /api/session (the fields the client reads). */
export interface SessionState {
  session_id: string;
  task: Task;
  finished: boolean;
  treatment: TreatmentSummary | null;
  /** The grant of the episode left open, to resume it; null when none is. */
  open_episode: EpisodeGrant | null;
}

/** POST /api/session/finish: the completion code and the platform's step. */
export interface FinishResult {
  completion_code: string;
  platform: "mturk" | "prolific" | "email" | "social" | "lab" | "anonymous";
  /** MTurk: the externalSubmit form (`url` and `fields`); Prolific: the completion `url`. */
  submit: { url: string; fields?: Record<string, string> } | null;
}

/** What the worker needs to continue an episode from the server's log (plus unsent chunks). */
export interface ResumeFrom {
  /** Every action so far, one array per player; the emulator is fast-forwarded through them. */
  actions: number[][];
  /** The checkpoints of those frames; each is checked during the fast-forward. */
  checkpoints: Checkpoint[];
}

// ---- main thread -> worker ----

export interface StartMessage {
  type: "start";
  episode: EpisodeGrant;
  /** Absent for a new episode. */
  resume?: ResumeFrom;
  /** Whether the page is hidden now (the worker starts paused then). */
  hidden: boolean;
  /** The AI partner of a two-player episode played in this browser (no relay). */
  partner?: PartnerSpec;
}
export interface KeysMessage {
  type: "keys";
  /** KeyboardEvent.code of every held game key. */
  held: string[];
  /** The change that caused this message. */
  key: string;
  down: boolean;
  /** Epoch ms (with sub-ms precision) of the key event. */
  atMs: number;
  /** Epoch ms at which the page's handler got it (after the browser's input pipeline). */
  pageMs: number;
}
export interface VisibilityMessage {
  type: "visibility";
  hidden: boolean;
}
/** The participant pressed Finish: end the episode now (`ended_by_participant`). */
export interface FinishMessage {
  type: "finish";
}
/** Drop the current episode without a final chunk (the page gave up on it). */
export interface StopMessage {
  type: "stop";
}
/** Two players: a relay message for the match's worker. */
export interface RelayInMessage {
  type: "relay";
  message: RelayIncoming;
}
/** Two players: the partner left; the episode ends at the last confirmed frame. */
export interface PartnerLeftMessage {
  type: "partner-left";
  /** `ended_by_participant`: the match ended by a Finish (the server's `ended`). */
  reason?: "partner_left" | "ended_by_participant";
}
export type MainToWorker =
  | StartMessage
  | KeysMessage
  | VisibilityMessage
  | FinishMessage
  | StopMessage
  | RelayInMessage
  | PartnerLeftMessage;

// ---- worker -> main thread ----

export interface StartedMessage {
  type: "started";
  episodeId: string;
  /** Frames already played (non-zero after a resume). */
  frame: number;
  score: number[];
}
export interface FrameMessage {
  type: "frame";
  episodeId: string;
  frame: number;
  score: number[];
  width: number;
  height: number;
  /** width * height * 4 RGBA bytes (transferred). */
  pixels: ArrayBuffer;
}
export interface ChunkMessage {
  type: "chunk";
  episodeId: string;
  chunk: ChunkBody;
}
export interface EndedMessage {
  type: "ended";
  episodeId: string;
  end: End;
  score: number[];
}
export interface PausedMessage {
  type: "paused";
  episodeId: string | null;
  paused: boolean;
  frame: number;
}
/** A key change and the frame on which it took effect, for latency measurement. */
export interface KeyAppliedMessage {
  type: "key-applied";
  episodeId: string;
  key: string;
  down: boolean;
  frame: number;
  /** Epoch ms of the key event (main thread). */
  eventMs: number;
  /** Epoch ms at which the worker emulated `frame` (worker clock). */
  appliedMs: number;
  /**
   * Two players: `frame` minus the last frame whose input was sampled at or before the key
   * event (1: the key took effect on the very next frame, the netcode's promise; more: it
   * waited for a stall, a late tick, or a busy page). Absent for one player.
   */
  frames?: number;
  /** As `frames`, counted from when the page's handler got the key (the game's own delay). */
  pageFrames?: number;
}
export interface WorkerErrorMessage {
  type: "error";
  episodeId: string | null;
  /** "resume" when fast-forwarding failed (the page starts a new episode), else "fatal". */
  phase: "resume" | "fatal";
  message: string;
}
/** Two players: a message for the relay (inputs, digest, end, visibility, state_request, state). */
export interface RelayOutMessage {
  type: "relay";
  episodeId: string;
  message: { type: string; [field: string]: unknown };
}
/** Two players: the rollback's state (rollback.mjs RollbackStats) and whether it waits for the partner. */
export interface NetMessage {
  type: "net";
  episodeId: string;
  waiting: boolean;
  stats: import("./rollback.mjs").RollbackStats;
}
/** With an AI partner: what it did so far, once per chunk. */
export interface PartnerMessage {
  type: "partner";
  episodeId: string;
  stats: PartnerStats;
}
export type WorkerToMain =
  | PartnerMessage
  | RelayOutMessage
  | NetMessage
  | StartedMessage
  | FrameMessage
  | ChunkMessage
  | EndedMessage
  | PausedMessage
  | KeyAppliedMessage
  | WorkerErrorMessage;

// ---- the play view as the session drives it (play.mjs PlayView, session.mjs Session) ----

export interface EpisodeView {
  /** Starts the episode in the emulator: true once it runs, false when the replay of `resume` failed. */
  play(grant: EpisodeGrant, resume?: ResumeFrom): Promise<boolean>;
  /** Ends the running episode (`ended_by_participant`); false when none is running. */
  finishEpisode(): boolean;
  /** Drops the running episode without a final chunk. */
  stop(): void;
  /** The session is over: no more keys, no emulator. */
  close(): void;
  /** A notice over the game, or none. */
  notice(text: string | null): void;
  /** Whether the episode's stream is connected. */
  connection(connected: boolean): void;
  /** Whether the session is ending (Finish confirmed, or the time is up): no more Finish. */
  ending(): void;
  /** A progress report, standing at `frame` of `episodeId`. */
  progress(report: ProgressReport, episodeId: string | null, frame: number): void;
  /** Where the view's events go from now on. */
  listen(listener: EpisodeListener): void;
  /** Two players: a relay message for the worker. */
  relayIn(message: RelayIncoming): void;
  /** Two players: the partner's tab was hidden (true) or shown. */
  partnerPaused(hidden: boolean): void;
  /** Two players: the partner left; the game ends at the last confirmed frame. */
  partnerLeft(reason: "partner_left" | "ended_by_participant"): void;
  /** Two players, after the partner left: whether the participant plays on alone (or finishes). */
  askPlayOnAlone(): Promise<boolean>;
  /** The episode the view plays, or null. */
  readonly episodeId: string | null;
}

/** The play view's events. */
export interface EpisodeListener {
  /** Two players: the worker has a message for the relay. */
  relay?(message: RelayOutMessage["message"]): void;
  /** The emulator recorded a chunk. */
  chunk(chunk: ChunkBody): void;
  /** The episode ended. */
  ended(message: EndedMessage): void;
  /** The participant confirmed Finish. */
  finish(): void;
  /** The session's time is played. */
  timeUp(): void;
}

// ---- incentives, progress and the score page (docs/protocol.md, "Progress") ----

/**
 * POST /api/sessions and GET /api/session: the session's incentive treatment, or null — what is
 * at stake and how to earn it (the instructions and the live panel say it).
 */
export interface TreatmentSummary {
  id: string;
  challenge: boolean;
  raffle: boolean;
  currency: string;
  /** Paid once the time requirement (and with `base_requires_minimum` every requirement) is met. */
  base_pay: number;
  /** The most the bonus can reach (0 without a bonus). */
  bonus_maximum: number;
  /** `base_pay + bonus_maximum`: the most the session can be paid. */
  at_stake: number;
  /** The time requirement, or null for none. */
  time: { statistic: "Playtime" | "Active playtime"; seconds: number } | null;
  base_requires_minimum: boolean;
  bonus_requires_minimum: boolean;
  /** The minimum requirements (challenges, with `challenge`). */
  requirements: { label: string; statistic: string; required: number; unit: Unit }[];
  /** The bonus grows from 0 at `start` to full at `full` of each factor's statistic. */
  bonus_factors: { label: string; statistic: string; start: number; full: number; unit: Unit }[];
}

/** How a statistic's value is shown (docs/protocol.md, "Progress"). */
export type Unit = "count" | "fraction" | "seconds" | "points";

/** The consent page of a task (GET /api/tasks `consent`; docs/tasks.md, "Consent"). */
export interface ConsentTemplate {
  /** Each field as HTML (Markdown rendered by the server, raw HTML escaped); `ethics` may be null. */
  sections: Record<string, string | null>;
  /** What the session can earn, as HTML, by recruitment platform. */
  pay: Record<string, string>;
  /** The consent checkbox's text. */
  agreement: string;
}

/** One requirement of the live panel. */
export interface ProgressItem {
  label: string;
  statistic: string;
  value: number;
  required: number;
  unit: Unit;
  met: boolean;
}

/** Where a session stands under its treatment (also the settled `payment`). */
export interface Progress {
  treatment: string;
  currency: string;
  challenge: boolean;
  raffle: boolean;
  /** The time requirement first, then each minimum requirement. */
  items: ProgressItem[];
  base: number;
  bonus: number;
  total: number;
  /** Mean over items of min(1, value / required), in [0, 1]. */
  completion: number;
  requirements_met: number;
}

/** GET /api/session/progress. */
export interface ProgressReport {
  /** The session's statistics of player 0 (keys depend on the task's collectors). */
  statistics: Record<string, number>;
  progress: Progress | null;
  played_seconds: number;
  session: { minutes?: number | null; episodes?: number | null };
  episodes: number;
}

/** The WebSocket's `progress` message: a report at `frame` of the stream's episode. */
export interface ProgressMessage extends ProgressReport {
  type: "progress";
  frame: number;
  /** The open episode's statistics of player 0. */
  episode: Record<string, number>;
  /** Why the live replay stopped matching the checkpoints (the episode will be rejected). */
  diverged: string | null;
}

/** One statistic of GET /api/session/score. */
export interface CohortView {
  value: number;
  /** 1 = highest; ties share the better rank. */
  rank: number;
  /** Share of the cohort at or below the value, 0-100. */
  percentile: number;
  cohort: number;
  histogram: { edges: number[]; counts: number[]; bin: number };
  /** How the value is shown; counts and points on whole-number axes. */
  unit: Unit;
}

/** GET /api/session/score (200 once the session is settled, 409 before). */
export interface SessionScore {
  task: { id: string; title: string };
  /** The task's score statistics. */
  statistics: Record<string, CohortView>;
  /** Their keys in the task's order (the order the page shows them). */
  order: string[];
  payment: Progress | null;
}
