// The typed boundary of the policy worker (policy.worker.mjs) and of policy.mjs
// (docs/policies.md). The .mjs modules reference these types from JSDoc.

/** One inference: the action (argmax of the logits), the logits and the time it took. */
export interface PolicyStep {
  action: number;
  logits: number[];
  /** Milliseconds in the worker from the input tensor's creation to the logits. */
  ms: number;
}

/** Fetch the ONNX file at `url` and start a session (a loaded policy is released first). */
export interface LoadMessage {
  type: "load";
  url: string;
}

/** Act on one observation: 4*84*84 bytes, frames oldest first, row-major. */
export interface ActMessage {
  type: "act";
  id: number;
  observation: Uint8Array;
}

export type PageToPolicy = LoadMessage | ActMessage;

export interface LoadedMessage {
  type: "loaded";
  /** The model file's size in bytes. */
  modelBytes: number;
  /** Milliseconds to fetch the model and start its session (the runtime's first start included). */
  ms: number;
}

export interface ActionMessage extends PolicyStep {
  type: "action";
  id: number;
}

/** A load or an act that failed; `id` is the act's. */
export interface PolicyErrorMessage {
  type: "error";
  id?: number;
  message: string;
}

export type PolicyToPage = LoadedMessage | ActionMessage | PolicyErrorMessage;
