// The play page's end (its `#end` section): the completion code and the platform's step (MTurk's
// form, Prolific's link, or the code to keep), the payment once the session is settled, the
// raffle form for a raffle treatment, and a link to the score page.
import { request } from "./api.mjs";
import { $, describe, element, showSection } from "./dom.mjs";
import { formatPayment, itemText } from "./format.mjs";
import { awaitSettlement } from "./settlement.mjs";

/** @typedef {import("./debug.mjs").PlayDebug} PlayDebug */
/** @typedef {import("./messages").Progress} Progress */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */
/** @typedef {import("./messages").FinishResult} FinishResult */

/**
 * @typedef {object} EndContext what the end page needs beside the finish result
 * @property {string} taskId
 * @property {string} token
 * @property {TreatmentSummary | null} treatment
 * @property {boolean} timeUp the session ended because its time was played
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
  body.append(...completionStep(result));

  const payment = element("section", "end-payment", "Your games are being checked…");
  payment.id = "payment";
  body.append(payment);
  if (context.treatment?.raffle) body.append(raffleForm(context.token, context.debug));
  const scoreLink = document.createElement("a");
  scoreLink.id = "score-link";
  scoreLink.href = `/score/${encodeURIComponent(context.taskId)}`;
  scoreLink.textContent = "See your results and how you compare with other players";
  const linkLine = document.createElement("p");
  linkLine.append(scoreLink);
  body.append(linkLine);
  showSection("end");
  void showPayment(context.token, payment, context.debug);
}

/**
 * The completion code and the platform's step: MTurk's form posting to `submit.url`, Prolific's
 * link to it, or (anywhere else) the advice to keep the code.
 * @param {FinishResult} result
 * @returns {HTMLElement[]}
 */
function completionStep(result) {
  const code = document.createElement("p");
  code.innerHTML = 'Your completion code: <span class="code"></span>';
  /** @type {HTMLElement} */ (code.querySelector(".code")).textContent = result.completion_code;
  code.id = "completion-code";
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
    button.textContent = "Submit the HIT";
    form.append(button);
    return [code, form];
  }
  if (result.platform === "prolific" && result.submit !== null) {
    const link = document.createElement("a");
    link.id = "prolific-link";
    link.href = result.submit.url;
    link.textContent = "Return to Prolific to complete the study";
    const p = document.createElement("p");
    p.append(link);
    return [code, p];
  }
  return [code, element("p", "", "Keep this code: you need it to claim your participation.")];
}

/**
 * Waits until the session is settled, then shows what it earned in `into`.
 * @param {string} token
 * @param {HTMLElement} into
 * @param {PlayDebug} debug
 */
async function showPayment(token, into, debug) {
  let answer;
  try {
    answer = await awaitSettlement(token);
  } catch (e) {
    into.textContent = `Your results could not be shown: ${describe(e)}`;
    return;
  }
  debug.payment = answer.payment;
  into.replaceChildren(...paymentView(answer.payment));
  into.classList.add("settled");
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
 * The raffle form: an email address, with explicit consent to store it for the draw.
 * @param {string} token
 * @param {PlayDebug} debug
 */
function raffleForm(token, debug) {
  const section = element("section", "raffle");
  section.innerHTML = `
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
  const form = /** @type {HTMLFormElement} */ (section.querySelector("form"));
  const email = /** @type {HTMLInputElement} */ (section.querySelector("#raffle-email"));
  const consent = /** @type {HTMLInputElement} */ (section.querySelector("#raffle-consent"));
  const submit = /** @type {HTMLButtonElement} */ (section.querySelector("#raffle-submit"));
  const message = /** @type {HTMLElement} */ (section.querySelector("#raffle-message"));
  consent.addEventListener("change", () => (submit.disabled = !consent.checked));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!consent.checked) return;
    submit.disabled = true;
    try {
      await request("/api/session/raffle", { method: "POST", token, body: { email: email.value.trim(), consent: true } });
      debug.raffle = "stored";
      const done = element("p", "", "You are entered in the raffle. Your entries are counted once your games have been checked.");
      done.id = "raffle-done";
      form.replaceChildren(done);
    } catch (e) {
      message.textContent = `Not entered: ${describe(e)}`;
      submit.disabled = false;
    }
  });
  return section;
}
