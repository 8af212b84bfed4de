// The score page (client/score.html, `/score/<task_id>`): the participant's play against the
// cohort of the task, as in Lab in the Wild (the CrowdPlay paper, A.3), plus feedback and
// problem reports. The statistics are the task's own (its `score_statistics`, docs/tasks.md), in
// the server's order, each shown in its unit; counts and points get whole-number axes.
//
// It uses this tab's session token for the task (api.mjs tokenStore), so it is reached from the
// end page of the play page, and waits until the session is settled (settlement.mjs); opened
// anywhere else it says so and links back. The page's state for tests is `window.crowdplay`
// (debug.mjs).
import { request, tokenStore } from "./api.mjs";
import { scoreDebug } from "./debug.mjs";
import { $, describe } from "./dom.mjs";
import { formatNumber, formatPayment, formatValue, ordinal, wholeRange } from "./format.mjs";
import { awaitSettlement } from "./settlement.mjs";

/** @typedef {import("./debug.mjs").ScoreDebug} ScoreDebug */
/** @typedef {import("./messages").SessionScore} SessionScore */
/** @typedef {import("./messages").CohortView} CohortView */

const SVG = "http://www.w3.org/2000/svg";

/**
 * The page cannot show the results: says why.
 * @param {ScoreDebug} debug
 * @param {string} message
 * @param {ScoreDebug["phase"]} [phase]
 */
function fail(debug, message, phase = "failed") {
  debug.phase = phase;
  $("loading").hidden = true;
  $("failure-message").textContent = message;
  $("failure").hidden = false;
}

/**
 * A value's label on an axis: counts and points as whole numbers (the lowest one at or above an
 * edge, the highest at or below), the rest in their unit.
 * @param {number} value
 * @param {import("./messages").Unit} unit
 * @param {"low" | "high"} side
 */
function axisLabel(value, unit, side) {
  if (unit === "count" || unit === "points") {
    return formatNumber(side === "low" ? Math.ceil(value - 1e-9) : Math.floor(value + 1e-9));
  }
  return formatValue(Math.max(0, value), unit);
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
  const unit = view.unit;
  const whole = unit === "count" || unit === "points";
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
    const range = whole
      ? wholeRange(edges[i], edges[i + 1], i === counts.length - 1) ?? "no whole values"
      : `${formatValue(Math.max(0, edges[i]), unit)} to ${formatValue(Math.max(0, edges[i + 1]), unit)}`;
    title.textContent = `${range}: ${count} ${who}${i === bin ? " (you)" : ""}`;
    rect.append(title);
  });
  const you = node("text", { class: "axis you", x: left + (bin + 0.5) * barW, y: top - 3, "text-anchor": "middle" });
  you.textContent = "you";
  node("line", { x1: left, x2: width - right, y1: top + plotH + 0.5, y2: top + plotH + 0.5, stroke: "currentColor", "stroke-opacity": 0.4 });
  const low = node("text", { class: "axis", x: left, y: height - 5, "text-anchor": "start" });
  // A cohort of one has no spread: the server's bins are then nominal, so the one label is the
  // value itself.
  low.textContent = view.cohort > 1 ? axisLabel(edges[0], unit, "low") : formatValue(view.value, unit);
  if (view.cohort > 1) {
    const high = node("text", { class: "axis", x: width - right, y: height - 5, "text-anchor": "end" });
    high.textContent = axisLabel(edges[edges.length - 1], unit, "high");
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
  value.textContent = formatValue(view.value, view.unit);
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
    line.textContent = `Your payment: ${formatPayment(payment)}`;
  }
  const keys = answer.order.filter((key) => key in answer.statistics); // the task's order
  const cohort = keys.length > 0 ? answer.statistics[keys[0]].cohort : 0;
  $("cohort-note").hidden = cohort > 1;
  $("statistics").replaceChildren(...keys.map((key) => statisticFigure(key, answer.statistics[key])));
  $("loading").hidden = true;
  $("results").hidden = false;
}

/**
 * @param {HTMLFormElement} form
 * @param {string} token
 * @param {ScoreDebug} debug
 */
function wireFeedback(form, token, debug) {
  const text = /** @type {HTMLTextAreaElement} */ (form.querySelector("textarea"));
  const status = /** @type {HTMLElement} */ (form.querySelector(".confirmation"));
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
  const kind = /** @type {"feedback" | "problem"} */ (form.dataset.kind);
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
      status.textContent = `Not sent: ${describe(e)}`;
    } finally {
      button.disabled = false;
    }
  });
}

/** @param {ScoreDebug} debug */
async function main(debug) {
  const parts = location.pathname.split("/").filter(Boolean);
  const taskId = decodeURIComponent(parts[parts.length - 1] ?? "");
  const token = tokenStore.get(taskId);
  if (token === null) {
    fail(
      debug,
      "Your results are tied to the browser tab you played in, and this tab has no session of this task. " +
        "Go back to that tab and follow the link at the end of the game, or play the task first.",
      "no-session",
    );
    $("failure-links").hidden = false;
    /** @type {HTMLAnchorElement} */ ($("play-link")).href = `/play/${encodeURIComponent(taskId)}`;
    return;
  }
  $("feedback").hidden = false;
  for (const id of ["feedback-form", "problem-form"]) wireFeedback(/** @type {HTMLFormElement} */ ($(id)), token, debug);
  const waiting = "Your games are still being checked; your results appear in a moment…";
  debug.score = await awaitSettlement(
    token,
    () => {
      debug.phase = "waiting";
      $("loading-message").textContent = waiting;
    },
    (text) => ($("loading-message").textContent = text ?? waiting),
  );
  render(debug.score);
  debug.phase = "ready";
}

const debug = scoreDebug();
main(debug).catch((e) => fail(debug, describe(e)));
