// HTTP calls of the participant protocol (docs/protocol.md, "HTTP") and the session token. Calls
// that must get through are wrapped in retry.mjs.

/** An HTTP answer other than 2xx; `message` is the server's `error` text when it sent one. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** No answer at all: the browser is offline or the server cannot be reached. */
export class NetworkError extends Error {
  /** @param {string} what the request, as "METHOD /path" */
  constructor(what) {
    super(`no connection to the server (${what})`);
    this.name = "NetworkError";
  }
}

/**
 * @typedef {object} Task
 * @property {string} id
 * @property {string} title
 * @property {string} game
 * @property {string} description
 * @property {string} instructions_html
 * @property {{minutes?: number, episodes?: number}} session
 * @property {string} controls the game's controls, as the participant reads them
 * @property {import("./messages").ConsentTemplate} consent the consent page's text
 * @property {number} [players] 1 or 2
 * @property {string[]} [seats] who plays each player: "human" or "ai:<policy>" (docs/tasks.md)
 */

/**
 * @param {string} path
 * @param {{method?: string, token?: string | null, body?: unknown}} [options]
 * @returns {Promise<any>} the JSON answer
 * @throws {ApiError} for an answer other than 2xx
 * @throws {NetworkError} when there is no answer
 */
export async function request(path, { method = "GET", token = null, body } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new NetworkError(`${method} ${path}`); // fetch rejects only when there is no answer
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // a non-JSON answer: only its status matters
  }
  if (!response.ok) {
    throw new ApiError(response.status, answer?.error ?? `${method} ${path}: HTTP ${response.status}`);
  }
  return answer;
}

/** @returns {Promise<Task[]>} */
export async function listTasks() {
  const { tasks } = await request("/api/tasks");
  return tasks;
}

/** The session token of this tab for a task, kept in sessionStorage (a reload keeps the session). */
export const tokenStore = {
  /** @param {string} taskId */
  get: (taskId) => sessionStorage.getItem(`crowdplay.token.${taskId}`),
  /** @param {string} taskId @param {string} token */
  set: (taskId, token) => sessionStorage.setItem(`crowdplay.token.${taskId}`, token),
  /** @param {string} taskId */
  clear: (taskId) => sessionStorage.removeItem(`crowdplay.token.${taskId}`),
};
