// The play view's dialogs (play.html): the Finish confirmation, which says what is not met yet
// and what finishing now earns, so that Finish is never pressed by accident; the choice after a
// two-player partner left (play on alone, or finish); and the problem report, reachable while
// playing (POST /api/session/feedback, kind "problem").
import { request } from "./api.mjs";
import { $, describe, element } from "./dom.mjs";
import { formatClock, formatMoney } from "./format.mjs";
import { retrying } from "./retry.mjs";
import { pays, shortfall } from "./terms.mjs";

/** @typedef {import("./panel.mjs").Panel} Panel */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */

/**
 * Two players, the partner left: asks whether to play on alone. Resolves true for "Play on
 * alone" (focused), false for "Finish now"; Esc does not close it (a choice is needed).
 * @returns {Promise<boolean>}
 */
export function askPlayOnAlone() {
  const dialog = /** @type {HTMLDialogElement} */ ($("alone-dialog"));
  const listening = new AbortController();
  const { signal } = listening;
  return new Promise((resolve) => {
    const choose = (/** @type {boolean} */ alone) => () => {
      listening.abort();
      dialog.close();
      resolve(alone);
    };
    dialog.addEventListener("cancel", (e) => e.preventDefault(), { signal });
    $("alone-play").addEventListener("click", choose(true), { signal });
    $("alone-finish").addEventListener("click", choose(false), { signal });
    dialog.showModal();
    $("alone-play").focus();
  });
}

/**
 * Asks before the session is finished: opens on Finish (or Esc), lists what is not met yet,
 * and calls `onConfirm` only on "Finish now". "Keep playing" has the focus.
 */
export class FinishConfirmation {
  /**
   * @param {object} options
   * @param {Panel} options.panel where the session stands
   * @param {TreatmentSummary | null} options.terms the session's treatment
   * @param {() => void} options.onConfirm
   */
  constructor({ panel, terms, onConfirm }) {
    this.dialog = /** @type {HTMLDialogElement} */ ($("finish-dialog"));
    this.panel = panel;
    this.terms = terms;
    $("finish-cancel").addEventListener("click", () => this.dialog.close());
    $("finish-confirm").addEventListener("click", () => {
      this.dialog.close();
      onConfirm();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  open() {
    if (this.dialog.open) return;
    $("finish-summary").replaceChildren(...this.summary());
    this.dialog.showModal();
    $("finish-cancel").focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /** What finishing now means for this session. */
  summary() {
    const { panel, terms } = this;
    const out = [];
    if (panel.limitSeconds !== null) {
      const played = formatClock(Math.min(panel.playedSeconds, panel.limitSeconds));
      out.push(element("p", "", `You have played ${played} of ${formatClock(panel.limitSeconds)}.`));
    }
    const progress = panel.report?.progress ?? null;
    const unmet = panel.unmet();
    if (unmet.length > 0) {
      out.push(element("p", "", progress?.challenge ? "Challenges not completed yet:" : "Not met yet:"));
      const list = element("ul", "finish-unmet");
      list.id = "finish-unmet";
      list.append(...unmet.map((item) => element("li", "", shortfall(item))));
      out.push(list);
    } else if (progress !== null && progress.items.length > 0) {
      out.push(element("p", "", progress.challenge ? "You have completed every challenge." : "You have met every requirement."));
    }
    if (progress !== null && pays(terms)) {
      const earned = formatMoney(progress.total, progress.currency);
      const stake = formatMoney(/** @type {TreatmentSummary} */ (terms).at_stake, progress.currency);
      out.push(element("p", "finish-earned", `If you finish now you earn ${earned} (of up to ${stake}).`));
    } else if (progress?.raffle) {
      out.push(element("p", "", `If you finish now you have ${progress.requirements_met} raffle entries.`));
    }
    out.push(element("p", "", "After finishing you cannot play more games in this session."));
    return out;
  }
}

/**
 * The problem report, reachable while playing.
 * @param {string} token
 */
export function wireProblemReport(token) {
  const dialog = /** @type {HTMLDialogElement} */ ($("report-dialog"));
  const form = /** @type {HTMLFormElement} */ ($("report-form"));
  const text = /** @type {HTMLTextAreaElement} */ ($("report-text"));
  const send = /** @type {HTMLButtonElement} */ ($("report-send"));
  const status = $("report-status");
  $("report-button").addEventListener("click", () => {
    status.textContent = "";
    dialog.showModal();
    text.focus();
  });
  $("report-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    send.disabled = true;
    try {
      const body = { kind: "problem", text: text.value };
      await retrying(() => request("/api/session/feedback", { method: "POST", token, body }), {
        status: (s) => (status.textContent = s ?? ""),
        doing: "Sending your report",
      });
      text.value = "";
      status.textContent = "Thank you — your report was sent. You can keep playing.";
    } catch (e) {
      status.textContent = `Not sent: ${describe(e)}`;
    } finally {
      send.disabled = false;
    }
  });
}
