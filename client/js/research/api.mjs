// The console's HTTP calls (server/web/console.py, docs/console.md). The sign-in cookie rides along
// by itself (same origin, http-only: no script reads it); an answer of 401 means the sign-in is
// missing or has expired, and sends the browser to the sign-in page.

/** An answer other than 2xx; `message` is the server's `error` text. */
export class ConsoleError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.name = "ConsoleError";
    this.status = status;
  }
}

/** The sign-in page, coming back to this page afterwards. */
export function toSignIn() {
  location.assign(`/research/signin?next=${encodeURIComponent(location.pathname)}`);
}

/**
 * @param {string} path
 * @param {{method?: string, body?: unknown}} [options]
 * @returns {Promise<any>} the JSON answer
 * @throws {ConsoleError} for an answer other than 2xx (after starting the way to sign-in on 401)
 */
export async function call(path, options = {}) {
  const init = /** @type {RequestInit} */ ({ method: options.method ?? "GET", credentials: "same-origin" });
  if (options.body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    if (response.status === 401 && !path.endsWith("/signin")) toSignIn();
    throw new ConsoleError(response.status, body?.error ?? `${response.status} ${response.statusText}`);
  }
  return body;
}

/** @param {string} path @param {unknown} [body] */
export const post = (path, body = {}) => call(path, { method: "POST", body });
