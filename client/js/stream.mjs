// The episode's WebSocket stream (docs/protocol.md, "WebSocket /ws/episodes/<episode_id>").
//
// Chunks get consecutive `seq` numbers and wait in a buffer until the server acknowledges them;
// the buffer is mirrored to sessionStorage, so neither a dropped connection nor a reload of the
// tab loses a chunk. After every (re)connection the stream says hello, reads `next_seq` from
// `ready` and resends everything from there; the server's chunks are idempotent. A connection
// that stays open but carries nothing (no acknowledgement for ACK_TIMEOUT_MS while chunks wait:
// the network went away without closing it) is dropped and made again, so that the page can say
// it is reconnecting instead of waiting in silence.

/** @typedef {import("./messages").Chunk} Chunk */
/** @typedef {import("./messages").ChunkBody} ChunkBody */
/** @typedef {import("./messages").ProgressMessage} ProgressMessage */

/**
 * @typedef {object} Verdict
 * @property {"verdict"} type
 * @property {"accepted" | "rejected" | "incomplete"} status
 * @property {number[]} score
 * @property {string} [reason]
 */

const STORAGE_PREFIX = "crowdplay.chunks.";
const BACKOFF_MS = [250, 500, 1000, 2000, 4000];
/** How long chunks may wait for an acknowledgement on an open connection before it is dropped. */
export const ACK_TIMEOUT_MS = 5000;

/**
 * The unacknowledged chunks of an episode stored in sessionStorage (by an earlier page load).
 * @param {string} episodeId
 * @returns {Chunk[]}
 */
export function storedChunks(episodeId) {
  const text = sessionStorage.getItem(STORAGE_PREFIX + episodeId);
  if (text === null) return [];
  try {
    const chunks = JSON.parse(text);
    return Array.isArray(chunks) ? chunks : [];
  } catch {
    return []; // a corrupted mirror: the server's log is the truth
  }
}

/**
 * Forgets the stored chunks of every episode but `keep`.
 * @param {string | null} keep
 */
export function forgetStoredChunks(keep) {
  for (let i = sessionStorage.length - 1; i >= 0; i--) {
    const key = sessionStorage.key(i);
    if (key !== null && key.startsWith(STORAGE_PREFIX) && key !== STORAGE_PREFIX + keep) sessionStorage.removeItem(key);
  }
}

/**
 * The absolute WebSocket URL for a `ws_url` the server gave (absolute, or a path on this origin).
 * @param {string} wsUrl
 */
export function webSocketUrl(wsUrl) {
  const url = new URL(wsUrl, location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  return url.href;
}

/** Streams one episode's chunks to the server. */
export class EpisodeStream {
  /**
   * @param {object} options
   * @param {string} options.url the WebSocket URL (see webSocketUrl)
   * @param {string} options.token the session token
   * @param {string} options.episodeId
   * @param {number} [options.nextSeq] the seq of the first chunk not yet sent (a resumed episode)
   * @param {Chunk[]} [options.pending] unacknowledged chunks from an earlier page load
   * @param {(verdict: Verdict) => void} [options.onVerdict]
   * @param {(progress: ProgressMessage) => void} [options.onProgress] the server's live replay
   *   of the session (docs/protocol.md, "Progress")
   * @param {(message: string) => void} [options.onError] the server refused a chunk or the hello;
   *   the episode cannot continue on this stream
   * @param {(connected: boolean) => void} [options.onConnection]
   */
  constructor({ url, token, episodeId, nextSeq = 0, pending = [], onVerdict, onProgress, onError, onConnection }) {
    this.url = url;
    this.token = token;
    this.episodeId = episodeId;
    /** @type {Chunk[]} sent or not, awaiting their ack, in seq order */
    this.buffer = pending.filter((c) => c.seq >= nextSeq);
    this.nextSeq = this.buffer.length > 0 ? this.buffer[this.buffer.length - 1].seq + 1 : nextSeq;
    this.finalAcked = false;
    this.closed = false;
    this.ready = false;
    this.failures = 0;
    this.onVerdict = onVerdict ?? (() => {});
    this.onProgress = onProgress ?? (() => {});
    this.onError = onError ?? (() => {});
    this.onConnection = onConnection ?? (() => {});
    /** @type {(() => void)[]} */
    this._drainWaiters = [];
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._retry = null;
    /** When the server last acknowledged, the connection got ready or a chunk started to wait
     * on an empty buffer: performance.now(). */
    this._heardAt = performance.now();
    this._watchdog = setInterval(() => this._checkStalled(), 1000);
    this._persist();
    this._connect();
  }

  /**
   * Queues a chunk (numbered here) and sends it when connected.
   * @param {ChunkBody} body
   */
  push(body) {
    /** @type {Chunk} */
    const chunk = { type: "chunk", seq: this.nextSeq++, ...body };
    if (this.buffer.length === 0) this._heardAt = performance.now(); // nothing was waiting
    this.buffer.push(chunk);
    this._persist();
    if (this.ready) this._send(chunk);
  }

  /** Resolves once every pushed chunk is acknowledged (stored durably by the server). */
  drained() {
    if (this.buffer.length === 0) return Promise.resolve();
    return new Promise((resolve) => this._drainWaiters.push(resolve));
  }

  /** Closes the connection for good (unacknowledged chunks stay in sessionStorage). */
  close() {
    this.closed = true;
    clearInterval(this._watchdog);
    if (this._retry !== null) clearTimeout(this._retry);
    this.socket?.close(1000);
    this.socket = null;
  }

  _connect() {
    if (this.closed) return;
    this.ready = false;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "hello", token: this.token }));
    socket.onmessage = (event) => this._receive(event.data);
    socket.onclose = () => this._lost(socket);
  }

  /**
   * The connection `socket` is gone (closed, or dropped as stalled): reconnect after a pause.
   * @param {WebSocket} socket
   */
  _lost(socket) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.ready = false;
    this.onConnection(false);
    if (this.closed) return;
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    this._retry = setTimeout(() => ((this._retry = null), this._connect()), delay);
  }

  /** Drops an open connection on which chunks wait unacknowledged for too long. */
  _checkStalled() {
    const socket = this.socket;
    if (socket === null || !this.ready || this.buffer.length === 0) return;
    if (performance.now() - this._heardAt < ACK_TIMEOUT_MS) return;
    console.warn(`crowdplay: episode ${this.episodeId}: no acknowledgement for ${ACK_TIMEOUT_MS} ms; reconnecting`);
    this._lost(socket);
    socket.onclose = null;
    socket.onmessage = null;
    socket.close(); // may take long on a dead network: nothing waits for it
  }

  /** @param {unknown} data */
  _receive(data) {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      console.warn("crowdplay: ignoring a non-JSON message", data);
      return;
    }
    switch (message.type) {
      case "ready": {
        this.failures = 0;
        this.ready = true;
        this._heardAt = performance.now();
        this._acknowledge(message.next_seq - 1);
        if (this.buffer.length > 0 && this.buffer[0].seq !== message.next_seq) {
          this.onError(`the server expects chunk ${message.next_seq} but this tab only has chunks from ${this.buffer[0].seq}`);
          return;
        }
        this.onConnection(true);
        for (const chunk of this.buffer) this._send(chunk);
        break;
      }
      case "ack":
        this._acknowledge(message.seq);
        break;
      case "progress":
        this.onProgress(message);
        break;
      case "verdict":
        this.onVerdict(message);
        this.close();
        break;
      case "error":
        this.onError(`chunk ${message.seq ?? "-"}: ${message.error}`);
        break;
      default:
        console.warn("crowdplay: ignoring an unknown message", message);
    }
  }

  /** Drops the chunks up to `seq` (acknowledged). @param {number} seq */
  _acknowledge(seq) {
    this._heardAt = performance.now();
    const before = this.buffer.length;
    for (const chunk of this.buffer) if (chunk.seq <= seq && chunk.end !== null) this.finalAcked = true;
    this.buffer = this.buffer.filter((c) => c.seq > seq);
    if (this.buffer.length === before) return;
    this._persist();
    if (this.buffer.length === 0) {
      for (const resolve of this._drainWaiters.splice(0)) resolve();
    }
  }

  /** @param {Chunk} chunk */
  _send(chunk) {
    this.socket?.send(JSON.stringify(chunk));
  }

  _persist() {
    const key = STORAGE_PREFIX + this.episodeId;
    if (this.buffer.length === 0) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(this.buffer));
  }
}
