// The live incentive panel of the play view (docs/protocol.md, "Progress").
//
// It shows what the server's live replay says about the session: one clock (the time played, of
// the session's length; a time requirement on the same playtime is shown on it, not as a second
// clock), the score over every game, and — when the session has an incentive treatment — what is
// at stake and what has been earned so far, and each requirement with its progress bar: a ✓ when
// it is met for good (a count or a time, which only grow), a different mark when it is only met
// for now (a share, which can drop again), and for active playtime what makes it count and whether
// it counts at the moment. With the social-media framing the items are "Challenges" and there is
// no money. Every number comes from the server; the only thing computed here is the clock
// between two progress messages, interpolated from the frames the emulator has played since
// (60 frames = 1 s, as the server's Playtime).
import { element } from "./dom.mjs";
import { formatClock, formatMoney, formatNumber, formatValue, itemText } from "./format.mjs";
import { ACTIVE_HELP, isFinal, pays, stakeText } from "./terms.mjs";

/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").Progress} Progress */
/** @typedef {import("./messages").ProgressItem} ProgressItem */
/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */

export const FRAMES_PER_SECOND = 60;
const ACTIVE = "Active playtime";

/** The panel beside the game; `update` with each progress report, `tick` with each frame. */
export class Panel {
  /**
   * @param {HTMLElement} root the panel's element (emptied and filled here)
   * @param {object} options
   * @param {{minutes?: number | null, episodes?: number | null}} options.session the task's length
   * @param {TreatmentSummary | null} options.terms the session's treatment, or null
   * @param {() => void} [options.onTimeUp] called once when the played time reaches the session's
   */
  constructor(root, { session, terms, onTimeUp }) {
    this.root = root;
    this.terms = terms;
    this.limitSeconds = typeof session.minutes === "number" ? session.minutes * 60 : null;
    this.onTimeUp = onTimeUp ?? (() => {});
    /** @type {ProgressReport | null} the last report */
    this.report = null;
    /** Where the last report stands: its played seconds at a frame of an episode. */
    this.anchor = { episodeId: /** @type {string | null} */ (null), frame: 0, played: 0 };
    this.playedSeconds = 0;
    this.timeUp = false;
    this._shownSecond = -1;
    /** Active playtime and playtime of the report before the last (is active time counting?). */
    this._previous = { active: /** @type {number | null} */ (null), played: 0 };
    /** @type {boolean | null} whether active playtime grew with the last report */
    this.activeCounting = null;

    root.replaceChildren();
    this.timer = element("p", "panel-timer");
    this.timer.id = "panel-timer";
    this.timeNeed = element("p", "panel-time-need");
    this.timeNeed.id = "panel-time-need";
    this.timeNeed.hidden = true;
    this.total = element("p", "panel-total");
    this.total.id = "panel-score";
    this.stale = element("p", "panel-stale", "Not updated while reconnecting: your play is kept and counted when the connection is back.");
    this.stale.id = "panel-stale";
    this.stale.hidden = true;
    this.progress = element("div", "panel-progress");
    this.progress.id = "panel-progress";
    this.progress.hidden = true;
    root.append(this.timer, this.timeNeed, this.total, this.stale, this.progress);
    if (terms !== null && pays(terms)) {
      // What is at stake is known before the first report.
      this.progress.hidden = false;
      this.progress.replaceChildren(this._stake(null));
    }
    this._showTimer();
  }

  /**
   * A progress report: the WebSocket's `progress` message (with `frame`) or GET
   * /api/session/progress (without; it stands at `frame` of `episodeId`, the caller's count).
   * @param {ProgressReport} report
   * @param {string | null} episodeId the episode the report's `frame` belongs to
   * @param {number} frame
   */
  update(report, episodeId, frame) {
    this.report = report;
    this.anchor = { episodeId, frame, played: report.played_seconds };
    this.playedSeconds = Math.max(this.playedSeconds, report.played_seconds);
    const score = report.statistics.Score;
    this.total.textContent = typeof score === "number" ? `Score over all your games: ${formatNumber(score)}` : "";
    const active = report.statistics[ACTIVE];
    if (typeof active === "number") {
      if (this._previous.active !== null && report.played_seconds > this._previous.played) {
        this.activeCounting = active > this._previous.active;
      }
      this._previous = { active, played: report.played_seconds };
    }
    this._renderProgress(report.progress);
    this._showTimer();
  }

  /**
   * Whether the reports are current: false while the stream is reconnecting.
   * @param {boolean} current
   */
  setCurrent(current) {
    this.stale.hidden = current;
    this.root.classList.toggle("stale", !current);
  }

  /**
   * The emulator played `frame` frames of `episodeId`: advance the clock.
   * @param {string | null} episodeId
   * @param {number} frame
   */
  tick(episodeId, frame) {
    const { anchor } = this;
    const since = episodeId === anchor.episodeId ? frame - anchor.frame : frame;
    // Never run backwards (a report may lag the frames already shown).
    this.playedSeconds = Math.max(this.playedSeconds, anchor.played + Math.max(0, since) / FRAMES_PER_SECOND);
    this._showTimer();
  }

  /** The requirements not met yet (for the Finish confirmation), from the last report. */
  unmet() {
    return (this.report?.progress?.items ?? []).filter((item) => !item.met);
  }

  _showTimer() {
    const second = Math.floor(this.playedSeconds);
    if (second !== this._shownSecond) {
      this._shownSecond = second;
      this.timer.textContent =
        this.limitSeconds === null
          ? `Played ${formatClock(second)}`
          : `Played ${formatClock(Math.min(second, this.limitSeconds))} of ${formatClock(this.limitSeconds)}`;
    }
    if (!this.timeUp && this.limitSeconds !== null && this.playedSeconds >= this.limitSeconds) {
      this.timeUp = true;
      this.onTimeUp();
    }
  }

  /** @param {Progress | null} progress */
  _renderProgress(progress) {
    this.progress.hidden = progress === null;
    if (progress === null) return;
    // A time requirement on Playtime is the clock's own count: shown on the clock, not again.
    const clockItem = progress.items.find((i) => i.statistic === "Playtime" && i.unit === "seconds") ?? null;
    this._showTimeNeed(clockItem, progress);
    const items = progress.items.filter((i) => i !== clockItem);
    const parts = [];
    if (!progress.challenge && (pays(this.terms) || progress.total > 0)) parts.push(this._stake(progress));
    if (items.length > 0) {
      const heading = element("h2", "panel-heading", progress.challenge ? "Challenges" : "Requirements");
      heading.id = "panel-heading";
      const list = element("ul", "panel-items");
      list.id = "panel-items";
      list.append(...items.map((item) => this._item(item, progress.challenge)));
      parts.push(heading, list);
    }
    const overall = element("div", "panel-completion");
    overall.id = "panel-completion";
    const bar = /** @type {HTMLProgressElement} */ (element("progress"));
    bar.max = 1;
    bar.value = progress.completion;
    bar.setAttribute("aria-label", "overall completion");
    overall.append(element("span", "", `Overall: ${Math.round(progress.completion * 100)}%`), bar);
    parts.push(overall);
    if (progress.raffle) {
      const met = progress.requirements_met;
      const of = this.terms?.requirements.length ?? items.length;
      const raffle = element("p", "panel-raffle", `Raffle entries so far: ${met} of ${of} (one per requirement met)`);
      raffle.id = "panel-raffle";
      parts.push(raffle);
    }
    if (items.some((i) => i.met && !isFinal(i.unit))) {
      parts.push(element("p", "panel-legend", "✓ met for good · ◐ met for now: a share can still drop before you finish"));
    }
    this.progress.replaceChildren(...parts);
  }

  /**
   * A requirement on the time played, on the clock: "Required: 5:00 of play".
   * @param {ProgressItem | null} item
   * @param {Progress} progress
   */
  _showTimeNeed(item, progress) {
    this.timeNeed.hidden = item === null;
    if (item === null) return;
    const word = progress.challenge ? "Goal" : "Required";
    const done = item.met ? " ✓ done" : "";
    this.timeNeed.textContent = `${word}: ${formatValue(item.required, "seconds")} of play${done}`;
    this.timeNeed.classList.toggle("met", item.met);
    this.timeNeed.dataset.statistic = item.statistic;
  }

  /**
   * What is at stake and what is earned so far.
   * @param {Progress | null} progress
   */
  _stake(progress) {
    const box = element("div", "panel-stake");
    box.id = "panel-stake";
    const terms = this.terms;
    if (terms !== null && pays(terms)) {
      const line = element("p", "stake-line", `At stake: ${stakeText(terms)}`);
      line.id = "panel-at-stake";
      box.append(line);
    }
    if (progress !== null) {
      const payment = element("p", "panel-payment", `Earned so far: ${formatMoney(progress.total, progress.currency)}`);
      payment.id = "panel-payment";
      box.append(payment);
    }
    return box;
  }

  /**
   * One requirement: its mark, value against the threshold and progress bar.
   * @param {ProgressItem} item
   * @param {boolean} challenge
   */
  _item(item, challenge) {
    const final = isFinal(item.unit);
    const state = !item.met ? "unmet" : final ? "met" : "current";
    const li = element("li", `panel-item ${state}`);
    li.dataset.statistic = item.statistic;
    li.dataset.state = state;
    const mark = element("span", "mark", { unmet: "", met: "✓", current: "◐" }[state]);
    mark.setAttribute("aria-label", { unmet: "not met yet", met: "met", current: "met for now" }[state]);
    const text = element("span", "item-text", itemText(item, challenge) + (state === "current" ? " — met for now" : ""));
    const bar = /** @type {HTMLProgressElement} */ (element("progress"));
    bar.max = 1;
    bar.value = item.required > 0 ? Math.min(1, item.value / item.required) : 1;
    bar.setAttribute("aria-label", item.label);
    li.append(mark, text, bar);
    if (item.statistic === ACTIVE) {
      const help = element("span", "item-help", ACTIVE_HELP);
      li.append(help);
      if (!item.met && this.activeCounting !== null) {
        const now = this.activeCounting ? "Counting now." : "Not counting now: press keys and score points.";
        const status = element("span", `item-status ${this.activeCounting ? "counting" : "paused"}`, now);
        status.id = "active-status";
        li.append(status);
      }
    }
    return li;
  }
}
