// The page's side of two-player play (docs/two-players.md): the waiting room and the match's relay
// WebSocket `/ws/matches/<episode_id>`.
//
// The waiting room is joined with POST /api/session/lobby and polled with GET every second; the
// notice says "Waiting for a partner — N waiting, m:ss" until the server pairs this participant
// (the grant, with `seat` and `relay_url`) or the wait times out (the completion step follows).
// The relay socket says hello with the session token, passes the worker's messages (inputs,
// digests, the end, visibility, state requests and states) to the server and the server's to the
// worker, pings every 2 s (the server closes a silent socket as gone), and reports the partner's
// pauses and departure. It reconnects with backoff; after a
// reconnection the worker's inputs after the server's `received` frame are sent again (the server
// ignores the ones it has).
import { request } from "./api.mjs";
import { formatClock } from "./format.mjs";
import { sleep } from "./dom.mjs";
import { retrying } from "./retry.mjs";
import { webSocketUrl } from "./stream.mjs";

/** @typedef {import("./messages").EpisodeGrant} EpisodeGrant */

const POLL_MS = 1000;
const BACKOFF_MS = [250, 500, 1000, 2000, 4000];
/** The server closes a seat's socket after 15 s of silence (a vanished peer): ping well within. */
const PING_MS = 2000;

/**
 * Waits in the waiting room until paired (the grant) or timed out (null).
 * @param {string} token
 * @param {(text: string) => void} notice
 * @param {() => boolean} stop Finish was confirmed meanwhile
 * @returns {Promise<EpisodeGrant | null>}
 */
export async function waitForPartner(token, notice, stop) {
  let state = await retrying(() => request("/api/session/lobby", { method: "POST", token, body: {} }), {
    status: (text) => text !== null && notice(text),
    doing: "Joining the waiting room",
  });
  for (;;) {
    if (state.state === "paired") return { ...state.grant, seat: state.seat };
    if (state.state === "timed_out" || stop()) return null;
    notice(`Waiting for a partner — ${state.waiting} waiting, ${formatClock(state.waited_s)}`);
    await sleep(POLL_MS);
    state = await retrying(() => request("/api/session/lobby", { token }), {
      status: (text) => text !== null && notice(text),
      doing: "Waiting for a partner",
    });
  }
}

/** The relay WebSocket of one match. */
export class MatchRelay {
  /**
   * @param {object} options
   * @param {string} options.url the grant's relay_url
   * @param {string} options.token
   * @param {(message: any) => void} options.onMessage every server message after `ready`
   * @param {(ready: {confirmed: number, partner: string}) => void} options.onReady
   * @param {(connected: boolean) => void} options.onConnection
   */
  constructor({ url, token, onMessage, onReady, onConnection }) {
    this.url = webSocketUrl(url);
    this.token = token;
    this.onMessage = onMessage;
    this.onReady = onReady;
    this.onConnection = onConnection;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.ready = false;
    this.closed = false;
    /** The match has ended on the server (nothing more is sent). */
    this.over = false;
    this.attempt = 0;
    /** @type {number[]} every input this seat sent, frame f at [f - 1], to resend after a reconnection */
    this.inputs = [];
    /** @type {object[]} messages waiting for the connection */
    this.queue = [];
    this.pinger = setInterval(() => {
      if (this.ready && !this.over) this.socket?.send(JSON.stringify({ type: "ping" }));
    }, PING_MS);
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "hello", token: this.token }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "ready") {
        this.ready = true;
        this.attempt = 0;
        this.onConnection(true);
        // The server holds this seat's actions through `received` (older servers: `confirmed`).
        const from = Math.min(message.received ?? message.confirmed, this.inputs.length);
        for (let f = from; f < this.inputs.length; f += 60) {
          socket.send(JSON.stringify({ type: "inputs", start: f, actions: this.inputs.slice(f, f + 60) }));
        }
        for (const queued of this.queue) socket.send(JSON.stringify(queued));
        this.queue = [];
        this.onReady(message);
      } else {
        if (message.type === "ended" || message.type === "partner_left" || (message.type === "committed" && message.end)) {
          // Nothing more is stored: this seat's messages in flight get errors, and no more go.
          this.over = true;
        } else if (message.type === "error" && (this.over || /the match has ended/.test(message.error))) {
          // A message that crossed the end on the way (the server may say so before `ended`).
          this.over = true;
          console.info("crowdplay: relay, after the match ended:", message.error);
          return;
        }
        this.onMessage(message);
      }
    };
    socket.onclose = () => {
      if (socket !== this.socket) return;
      this.ready = false;
      this.onConnection(false);
      if (this.closed) return;
      const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)];
      setTimeout(() => this.connect(), delay);
    };
  }

  /** @param {{type: string, [field: string]: unknown}} message from the worker */
  send(message) {
    if (this.over) return;
    if (message.type === "inputs") {
      const { start, actions } = /** @type {{start: number, actions: number[]}} */ (/** @type {unknown} */ (message));
      if (start !== this.inputs.length) return; // already sent (the worker's frames only grow)
      this.inputs.push(...actions);
      if (!this.ready) return; // sent from `confirmed` on at the next ready
    } else if (!this.ready) {
      this.queue.push(message);
      return;
    }
    this.socket?.send(JSON.stringify(message));
  }

  close() {
    this.closed = true;
    clearInterval(this.pinger);
    this.socket?.close();
  }
}
