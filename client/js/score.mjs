// The score page (client/score.html, `/score/<task_id>`): the participant's play against the
// cohort of the task, as in Lab in the Wild (the CrowdPlay paper, A.3), plus feedback and
// problem reports.
//
// It uses this tab's session token for the task (api.mjs tokenStore), so it is reached from the
// end page of the play page. GET /api/session/score answers 409 until the session is settled
// (every episode verified); the page asks again every 2 s until then.
import { ApiError, request, tokenStore } from "./api.mjs";
import { formatClock, formatMoney, formatNumber } from "./panel.mjs";

/** @typedef {import("./messages").SessionScore} SessionScore */
/** @typedef {import("./messages").CohortView} CohortView */

const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
/** Statistics shown first, when present; the rest follow in the server's order. */
const FIRST = ["Score", "Playtime", "Active playtime"];

// ---- The test and debug surface -------------------------------------------------------------
// `window.crowdplay` on this page, read-only, for end-to-end tests and the console:
//   phase     "loading" | "no-session" | "waiting" (not settled yet) | "ready" | "failed"
//   score     the GET /api/session/score answer once it came, else null
//   feedback  the kinds ("feedback" | "problem") of the reports the server stored
const debug = {
  phase: "loading",
  /** @type {SessionScore | null} */ score: null,
  /** @type {string[]} */ feedback: [],
};
Object.defineProperty(window, "crowdplay", {
  value: Object.freeze({
    get phase() { return debug.phase; },
    get score() { return debug.score === null ? null : structuredClone(debug.score); },
    get feedback() { return [...debug.feedback]; },
  }),
});

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {string} message */
function fail(message, phase = "failed") {
  debug.phase = phase;
  $("loading").hidden = true;
  $("failure-message").textContent = message;
  $("failure").hidden = false;
}

/** "1st", "2nd", "3rd", "4th", "11th", "22nd"… @param {number} n */
export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] ?? "th";
  return `${n}${suffix}`;
}

/**
 * A statistic's value as people read it, from its name (the score answer carries no unit).
 * @param {string} key
 * @param {number} value
 */
export function formatStatistic(key, value) {
  if (/fraction|accuracy/i.test(key)) return `${Math.round(value * 100)}%`;
  if (/playtime|^time /i.test(key)) return formatClock(value);
  return formatNumber(value);
}

/**
 * An 11-bin histogram of the cohort as inline SVG, the participant's bin highlighted.
 * @param {string} key
 * @param {CohortView} view
 */
function histogram(key, view) {
  const { edges, counts, bin } = view.histogram;
  const width = 220, height = 96, left = 6, right = 6, top = 12, bottom = 18;
  const plotW = width - left - right, plotH = height - top - bottom;
  const barW = plotW / counts.length;
  const highest = Math.max(1, ...counts);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "histogram");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Distribution of ${key} over ${view.cohort} players; yours is highlighted`);
  /** @param {string} tag @param {Record<string, string | number>} attributes */
  const node = (tag, attributes) => {
    const el = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
    svg.append(el);
    return el;
  };
  counts.forEach((count, i) => {
    const h = (count / highest) * plotH;
    const rect = node("rect", {
      class: i === bin ? "bar mine" : "bar",
      x: left + i * barW + 0.5,
      y: top + plotH - h,
      width: Math.max(1, barW - 1),
      height: h,
    });
    const title = document.createElementNS(SVG, "title");
    const who = count === 1 ? "player" : "players";
    title.textContent = `${formatStatistic(key, edges[i])} to ${formatStatistic(key, edges[i + 1])}: ${count} ${who}${i === bin ? " (you)" : ""}`;
    rect.append(title);
  });
  const you = node("text", { class: "axis you", x: left + (bin + 0.5) * barW, y: top - 3, "text-anchor": "middle" });
  you.textContent = "you";
  node("line", { x1: left, x2: width - right, y1: top + plotH + 0.5, y2: top + plotH + 0.5, stroke: "currentColor", "stroke-opacity": 0.4 });
  const low = node("text", { class: "axis", x: left, y: height - 5, "text-anchor": "start" });
  low.textContent = formatStatistic(key, edges[0]);
  // A cohort of one has no spread: the server's bins are then nominal, so no upper label.
  if (view.cohort > 1) {
    const high = node("text", { class: "axis", x: width - right, y: height - 5, "text-anchor": "end" });
    high.textContent = formatStatistic(key, edges[edges.length - 1]);
  }
  return svg;
}

/** @param {string} key @param {CohortView} view */
function statisticFigure(key, view) {
  const figure = document.createElement("figure");
  figure.className = "stat";
  figure.dataset.statistic = key;
  const caption = document.createElement("figcaption");
  const name = document.createElement("span");
  name.className = "stat-name";
  name.textContent = key;
  const value = document.createElement("span");
  value.className = "stat-value";
  value.textContent = formatStatistic(key, view.value);
  const rank = document.createElement("div");
  rank.className = "stat-rank muted";
  rank.textContent = `${ordinal(view.rank)} of ${view.cohort} players · percentile ${formatNumber(view.percentile)}`;
  caption.append(name, ": ", value, rank);
  figure.append(caption, histogram(key, view));
  return figure;
}

/** @param {SessionScore} answer */
function render(answer) {
  $("task-title").textContent = `Your results — ${answer.task.title}`;
  document.title = `Your results — ${answer.task.title} — CrowdPlay`;
  const payment = answer.payment;
  const line = $("payment");
  if (payment === null) {
    line.hidden = true;
  } else if (payment.challenge) {
    const done = payment.items.filter((i) => i.met).length;
    line.textContent = `Challenges completed: ${done} of ${payment.items.length}`;
  } else if (payment.raffle && payment.total === 0) {
    line.textContent = `Raffle entries earned: ${payment.requirements_met}`;
  } else {
    const money = (/** @type {number} */ amount) => formatMoney(amount, payment.currency);
    line.textContent = `Your payment: ${money(payment.base)} base + ${money(payment.bonus)} bonus = ${money(payment.total)}`;
  }
  const keys = Object.keys(answer.statistics);
  const cohort = keys.length > 0 ? answer.statistics[keys[0]].cohort : 0;
  $("cohort-note").hidden = cohort > 1;
  const ordered = [...FIRST.filter((k) => keys.includes(k)), ...keys.filter((k) => !FIRST.includes(k))];
  $("statistics").replaceChildren(...ordered.map((key) => statisticFigure(key, answer.statistics[key])));
  $("loading").hidden = true;
  $("results").hidden = false;
}

/** @param {HTMLFormElement} form @param {string} token */
function wireFeedback(form, token) {
  const text = /** @type {HTMLTextAreaElement} */ (form.querySelector("textarea"));
  const status = /** @type {HTMLElement} */ (form.querySelector(".confirmation"));
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
  const kind = /** @type {string} */ (form.dataset.kind);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    button.disabled = true;
    status.textContent = "";
    try {
      await request("/api/session/feedback", { method: "POST", token, body: { kind, text: text.value } });
      debug.feedback.push(kind);
      text.value = "";
      status.textContent = kind === "problem" ? "Thank you — your report was sent." : "Thank you — your feedback was sent.";
    } catch (e) {
      status.textContent = `Not sent: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      button.disabled = false;
    }
  });
}

async function main() {
  const parts = location.pathname.split("/").filter(Boolean);
  const taskId = decodeURIComponent(parts[parts.length - 1] ?? "");
  const token = tokenStore.get(taskId);
  if (token === null) {
    return fail("Play this task first: your results appear here, in the same tab, after you finish.", "no-session");
  }
  $("feedback").hidden = false;
  for (const id of ["feedback-form", "problem-form"]) wireFeedback(/** @type {HTMLFormElement} */ ($(id)), token);
  for (;;) {
    try {
      debug.score = await request("/api/session/score", { token });
      break;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) throw e;
      debug.phase = "waiting";
      $("loading-message").textContent = "Your games are still being checked; your results appear in a moment…";
    }
    await sleep(POLL_MS);
  }
  render(/** @type {SessionScore} */ (debug.score));
  debug.phase = "ready";
}

main().catch((e) => fail(e instanceof Error ? e.message : String(e)));
