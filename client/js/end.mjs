// The play page's end (its `#end` section): the completion code with a copy button and the
// platform's step (MTurk's form, Prolific's link — or, without a completion URL, how to give
// Prolific the code — or, for a paid session elsewhere, the code to keep), the payment once the
// session is settled, the raffle form when the session has raffle entries, and a link to the score
// page. Unpaid channels are not told to keep a code "to claim" anything.
import { request } from "./api.mjs";
import { $, describe, element, showSection } from "./dom.mjs";
import { formatPayment, itemText } from "./format.mjs";
import { retrying } from "./retry.mjs";
import { awaitSettlement } from "./settlement.mjs";
import { pays } from "./terms.mjs";

/** @typedef {import("./debug.mjs").PlayDebug} PlayDebug */
/** @typedef {import("./messages").Progress} Progress */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */
/** @typedef {import("./messages").FinishResult} FinishResult */

/** Where a Prolific participant gives the code when the study has no completion URL. */
const PROLIFIC_APP = "https://app.prolific.com/";

/**
 * @typedef {object} EndContext what the end page needs beside the finish result
 * @property {string} taskId
 * @property {string} token
 * @property {TreatmentSummary | null} treatment
 * @property {boolean} timeUp the session ended because its time was played
 * @property {Progress | null} progress the last live progress (raffle entries before settling)
 * @property {PlayDebug} debug
 */

/**
 * Shows the end page of a finished session.
 * @param {FinishResult} result
 * @param {EndContext} context
 */
export function showEnd(result, context) {
  context.debug.phase = "finished";
  const body = $("end-body");
  body.replaceChildren();
  if (context.timeUp) {
    const up = element("p", "", "Time is up: you have played the whole session.");
    up.id = "time-up";
    body.append(up);
  }
  body.append(...completionStep(result, context.treatment));

  const payment = element("section", "end-payment", "Your games are being checked…");
  payment.id = "payment";
  body.append(payment);
  /** @type {RaffleSlot | null} */
  let raffle = null;
  if (context.treatment?.raffle) {
    raffle = new RaffleSlot(context.token, context.debug);
    raffle.entries(context.progress?.requirements_met ?? 0);
    body.append(raffle.section);
  }
  const scoreLink = document.createElement("a");
  scoreLink.id = "score-link";
  scoreLink.href = `/score/${encodeURIComponent(context.taskId)}`;
  scoreLink.textContent = "See your results and how you compare with other players";
  const linkLine = document.createElement("p");
  linkLine.append(scoreLink);
  body.append(linkLine);
  showSection("end");
  void showPayment(context.token, payment, context.debug, raffle);
}

/**
 * The completion code with its copy button, and the platform's step.
 * @param {FinishResult} result
 * @param {TreatmentSummary | null} terms
 * @returns {HTMLElement[]}
 */
function completionStep(result, terms) {
  const code = document.createElement("div");
  code.id = "completion-code";
  code.className = "completion";
  code.innerHTML =
    'Your completion code: <span class="code"></span> <button type="button" id="copy-code">Copy the code</button> ' +
    '<span id="copy-status" role="status"></span>';
  /** @type {HTMLElement} */ (code.querySelector(".code")).textContent = result.completion_code;
  wireCopy(code, result.completion_code);
  if (result.platform === "mturk" && result.submit !== null) {
    const form = document.createElement("form");
    form.id = "mturk-form";
    form.method = "POST";
    form.action = result.submit.url;
    for (const [name, value] of Object.entries(result.submit.fields ?? {})) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "primary";
    button.textContent = "Submit the HIT";
    form.append(element("p", "", "Press the button to send your code to MTurk and complete the HIT."), button);
    return [code, form];
  }
  if (result.platform === "prolific" && result.submit !== null) {
    const link = document.createElement("a");
    link.id = "prolific-link";
    link.className = "button";
    link.href = result.submit.url;
    link.textContent = "Return to Prolific to complete the study";
    const p = document.createElement("p");
    p.append(link);
    return [code, p];
  }
  if (result.platform === "prolific") {
    // The study has no completion URL: the participant gives Prolific the code by hand.
    const steps = element("div", "platform-step");
    steps.id = "prolific-return";
    const link = document.createElement("a");
    link.href = PROLIFIC_APP;
    link.textContent = "open Prolific";
    const text = element("p", "", "To complete the study, copy the code above, go back to the Prolific tab (or ");
    text.append(link, " in a new tab) and paste the code where Prolific asks for your completion code.");
    steps.append(text);
    return [code, steps];
  }
  if (result.platform === "mturk" || pays(terms)) {
    return [code, element("p", "", "Keep this code: you need it to claim your payment.")];
  }
  return [code, element("p", "", "Thank you for playing! If you write to the researchers about this session, mention this code.")];
}

/**
 * The copy button of the completion code.
 * @param {HTMLElement} block
 * @param {string} text
 */
function wireCopy(block, text) {
  const button = /** @type {HTMLButtonElement} */ (block.querySelector("#copy-code"));
  const status = /** @type {HTMLElement} */ (block.querySelector("#copy-status"));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      // No clipboard access: select the code, so that Ctrl+C (or a long press) copies it.
      const range = document.createRange();
      range.selectNodeContents(/** @type {HTMLElement} */ (block.querySelector(".code")));
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
      status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy it.";
    }
  });
}

/**
 * Waits until the session is settled, then shows what it earned in `into`.
 * @param {string} token
 * @param {HTMLElement} into
 * @param {PlayDebug} debug
 * @param {RaffleSlot | null} raffle
 */
async function showPayment(token, into, debug, raffle) {
  let answer;
  try {
    answer = await awaitSettlement(token, () => {}, (text) => (into.textContent = text ?? "Your games are being checked…"));
  } catch (e) {
    into.textContent = `Your results could not be shown: ${describe(e)}`;
    return;
  }
  debug.payment = answer.payment;
  into.replaceChildren(...paymentView(answer.payment));
  into.classList.add("settled");
  if (raffle !== null && answer.payment !== null) raffle.entries(answer.payment.requirements_met);
}

/**
 * What a settled session earned, as the end page shows it.
 * @param {Progress | null} payment
 * @returns {HTMLElement[]}
 */
function paymentView(payment) {
  const line = (/** @type {string} */ id, /** @type {string} */ text) => {
    const p = element("p", "", text);
    p.id = id;
    return p;
  };
  if (payment === null) return [line("payment-summary", "Your games have been checked: your results are ready.")];
  const items = element("ul", "end-items");
  for (const item of payment.items) {
    items.append(element("li", item.met ? "met" : "", `${item.met ? "✓ " : ""}${itemText(item, payment.challenge)}`));
  }
  if (payment.challenge) {
    const done = payment.items.filter((i) => i.met).length;
    return [line("payment-summary", `Challenges completed: ${done} of ${payment.items.length}`), items];
  }
  const out = [];
  if (payment.raffle) {
    out.push(line("raffle-entries", `Raffle entries earned: ${payment.requirements_met} (one per requirement met)`));
  }
  if (!payment.raffle || payment.total > 0) {
    out.push(line("payment-summary", `Your payment: ${formatPayment(payment)}`));
  }
  out.push(items);
  return out;
}

/**
 * The raffle's place on the end page: the form (an email address, with explicit consent to store
 * it for the draw) when the session has entries, else a line saying it has none.
 */
class RaffleSlot {
  /**
   * @param {string} token
   * @param {PlayDebug} debug
   */
  constructor(token, debug) {
    this.token = token;
    this.debug = debug;
    this.section = element("section", "raffle");
    this.section.id = "raffle";
    this.form = this.buildForm();
    this.none = element(
      "p",
      "",
      "You met no requirement in this session, so you have no raffle entries this time. Thank you for playing!",
    );
    this.none.id = "raffle-none";
  }

  /**
   * Shows the form for one or more entries, else says there are none.
   * @param {number} count
   */
  entries(count) {
    if (this.debug.raffle === "stored") return;
    this.section.replaceChildren(...(count > 0 ? [this.form] : [this.none]));
  }

  buildForm() {
    const box = document.createElement("div");
    box.innerHTML = `
      <h3>Enter the raffle</h3>
      <p>Leave an email address to take part in the draw. It is stored apart from your game data
        and used only to contact you if you win.</p>
      <form id="raffle-form">
        <label>Email <input type="email" id="raffle-email" name="email" required maxlength="254" autocomplete="email"></label>
        <label class="check"><input type="checkbox" id="raffle-consent" name="consent">
          I agree that my email address is stored for the raffle draw.</label>
        <p><button type="submit" id="raffle-submit" disabled>Enter the raffle</button></p>
        <p id="raffle-message" role="status"></p>
      </form>`;
    const form = /** @type {HTMLFormElement} */ (box.querySelector("form"));
    const email = /** @type {HTMLInputElement} */ (box.querySelector("#raffle-email"));
    const consent = /** @type {HTMLInputElement} */ (box.querySelector("#raffle-consent"));
    const submit = /** @type {HTMLButtonElement} */ (box.querySelector("#raffle-submit"));
    const message = /** @type {HTMLElement} */ (box.querySelector("#raffle-message"));
    consent.addEventListener("change", () => (submit.disabled = !consent.checked));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!consent.checked) return;
      submit.disabled = true;
      try {
        const body = { email: email.value.trim(), consent: true };
        await retrying(() => request("/api/session/raffle", { method: "POST", token: this.token, body }), {
          status: (text) => (message.textContent = text ?? ""),
          doing: "Entering the raffle",
        });
        this.debug.raffle = "stored";
        const done = element("p", "", "You are entered in the raffle. Your entries are counted once your games have been checked.");
        done.id = "raffle-done";
        form.replaceChildren(done);
      } catch (e) {
        message.textContent = `Not entered: ${describe(e)}`;
        submit.disabled = false;
      }
    });
    return box;
  }
}
