// The play page's steps before the game (play.html): the time estimate under the title, the
// keyboard check on touch-only devices, the consent page (the task's template, docs/tasks.md),
// the instructions with the session's terms (what is at stake and how to earn it), and MTurk's
// preview. Each step resolves when the participant goes on.
import { $, element, showSection } from "./dom.mjs";
import { formatClock } from "./format.mjs";
import { ACTIVE_HELP, earningSteps, pays, requirementText, stakeText } from "./terms.mjs";

/** @typedef {import("./api.mjs").Task} Task */
/** @typedef {import("./debug.mjs").PlayDebug} PlayDebug */
/** @typedef {import("./messages").SessionState} SessionState */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */

/** The consent template's fields, in the order shown, with their headings (docs/tasks.md). */
const CONSENT_HEADINGS = [
  ["researcher", "Who runs this study"],
  ["purpose", "What the study is for"],
  ["procedure", "What you will do"],
  ["duration", "How long it takes"],
  ["pay", "Payment"],
  ["risks", "Risks"],
  ["data", "What is recorded"],
  ["data_use", "How your data is used"],
  ["publication", "Publication"],
  ["retention", "How long data is kept"],
  ["voluntary", "Taking part is voluntary"],
  ["contact", "Questions and contact"],
  ["ethics", "Ethics approval"],
];
const KEYBOARD_KEY = "crowdplay.keyboard";

/**
 * Shows how long the study takes, under the task's title (before consent, for everyone).
 * @param {Task} task
 */
export function showEstimate(task) {
  const estimate = $("time-estimate");
  estimate.innerHTML = task.consent.sections.duration ?? "";
  estimate.prepend(element("strong", "", "Time: "));
  // The Markdown renderer wraps the text in a paragraph: keep one line.
  for (const p of estimate.querySelectorAll("p")) p.replaceWith(...p.childNodes);
  estimate.hidden = false;
}

/** Whether the device has no fine pointer and no hover: a phone or tablet, likely without keyboard. */
export function touchOnly() {
  return !matchMedia("(any-pointer: fine)").matches && !matchMedia("(any-hover: hover)").matches;
}

/**
 * On a touch-only device: says that a keyboard is needed, and resolves only once the participant
 * says one is connected (nothing starts before, so no clock runs).
 * @param {PlayDebug} debug
 * @returns {Promise<void>}
 */
export function keyboardGate(debug) {
  if (!touchOnly() || sessionStorage.getItem(KEYBOARD_KEY) === "yes") return Promise.resolve();
  debug.phase = "keyboard-needed";
  showSection("keyboard-needed");
  const button = $("keyboard-confirm");
  return new Promise((resolve) =>
    button.addEventListener(
      "click",
      () => {
        sessionStorage.setItem(KEYBOARD_KEY, "yes");
        resolve();
      },
      { once: true },
    ),
  );
}

/**
 * The consent page: the task's template, with the pay of the participant's platform.
 * @param {Task} task
 * @param {string} platform the platform the page's URL names (session.mjs platformOf)
 */
function consentFields(task, platform) {
  const list = element("dl", "consent-fields");
  for (const [name, heading] of CONSENT_HEADINGS) {
    const html = name === "pay" ? task.consent.pay[platform] : task.consent.sections[name];
    if (!html) continue;
    const term = element("dt", "", heading);
    const detail = element("dd");
    detail.id = `consent-${name.replace("_", "-")}`;
    // Rendered from the researcher's Markdown by the server, raw HTML escaped (docs/tasks.md).
    detail.innerHTML = html;
    list.append(term, detail);
  }
  return list;
}

/**
 * Resolves when the participant consents.
 * @param {Task} task
 * @param {string} platform
 * @param {PlayDebug} debug
 * @returns {Promise<void>}
 */
export function consent(task, platform, debug) {
  debug.phase = "consent";
  $("consent-body").replaceChildren(consentFields(task, platform));
  $("consent-agreement").textContent = task.consent.agreement;
  showSection("consent");
  const check = /** @type {HTMLInputElement} */ ($("consent-check"));
  const button = /** @type {HTMLButtonElement} */ ($("consent-button"));
  check.addEventListener("change", () => (button.disabled = !check.checked));
  return new Promise((resolve) =>
    button.addEventListener(
      "click",
      () => {
        button.disabled = true;
        resolve();
      },
      { once: true },
    ),
  );
}

/**
 * MTurk's preview: what the task asks, how long it takes and what it pays; nothing starts.
 * @param {Task} task
 * @param {PlayDebug} debug
 */
export function preview(task, debug) {
  debug.phase = "preview";
  $("preview-instructions").innerHTML = task.instructions_html;
  $("preview-pay").innerHTML = task.consent.pay.mturk ?? "";
  $("preview-controls").textContent = `Controls: ${task.controls}`;
  showSection("preview");
}

/**
 * Resolves when the participant has read the task's instructions and the session's terms, and
 * starts.
 * @param {Task} task
 * @param {SessionState} state
 * @param {PlayDebug} debug
 * @returns {Promise<void>}
 */
export function instructions(task, state, debug) {
  debug.phase = "instructions";
  // Task instructions are written by the researcher who configured the task (trusted HTML).
  $("instructions-body").innerHTML = task.instructions_html;
  $("terms").replaceChildren(...termsView(task, state.treatment ?? null));
  $("controls-hint").textContent = `Controls: ${task.controls} Press Esc to finish. The game pauses while this tab is hidden.`;
  showSection("instructions");
  const button = $("start-button");
  return new Promise((resolve) => button.addEventListener("click", () => (button.blur(), resolve()), { once: true }));
}

/**
 * The session's length and terms as the instructions give them: what is at stake, how it is
 * earned, each requirement, and what active playtime means.
 * @param {Task} task
 * @param {TreatmentSummary | null} terms
 * @returns {HTMLElement[]}
 */
export function termsView(task, terms) {
  const out = [];
  const length = task.session.minutes
    ? `The session lasts ${formatClock(task.session.minutes * 60)} of play (the clock beside the game shows it) or until you press Finish.`
    : `The session lasts ${task.session.episodes === 1 ? "one game" : `${task.session.episodes} games`} or until you press Finish.`;
  if (terms === null) return [element("p", "", length)];
  const heading = terms.challenge ? "Your challenges" : terms.raffle ? "Raffle entries" : "Your pay";
  out.push(element("h3", "", heading));
  if (pays(terms)) {
    out.push(element("p", "terms-stake", `You can earn ${stakeText(terms)} in this session:`));
    const steps = element("ul", "terms-steps");
    steps.append(...earningSteps(terms).map((s) => element("li", "", s)));
    out.push(steps);
  } else if (terms.raffle) {
    out.push(element("p", "", "Each requirement you meet earns one entry in the prize raffle (you can leave an email address at the end)."));
  }
  if (terms.requirements.length > 0) {
    const intro = terms.challenge ? "The challenges:" : "The requirements:";
    out.push(element("p", "", intro));
    const list = element("ul", "terms-requirements");
    list.append(...terms.requirements.map((r) => element("li", "", requirementText(r))));
    out.push(list);
  }
  if (terms.time?.statistic === "Active playtime" || terms.requirements.some((r) => r.statistic === "Active playtime")) {
    out.push(element("p", "terms-active", ACTIVE_HELP));
  }
  out.push(element("p", "", `${length} The panel beside the game shows your progress${pays(terms) ? " and what you have earned so far" : ""}.`));
  return out;
}
