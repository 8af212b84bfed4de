// The live incentive panel of the play view (docs/protocol.md, "Progress").
//
// It shows what the server's live replay says about the session: the session timer, the score
// over every game, and — when the session has an incentive treatment — each requirement with
// its progress bar, the overall completion and the estimated payment (or, for the social-media
// framing, the same items as "Challenges" and no money). Every number comes from the server;
// the only thing computed here is the timer between two progress messages, interpolated from
// the frames the emulator has played since (60 frames = 1 s, as the server's Playtime).
import { element } from "./dom.mjs";
import { formatClock, formatNumber, formatPayment, itemText } from "./format.mjs";

/** @typedef {import("./messages").ProgressReport} ProgressReport */
/** @typedef {import("./messages").Progress} Progress */

export const FRAMES_PER_SECOND = 60;

/** The panel beside the game; `update` with each progress report, `tick` with each frame. */
export class Panel {
  /**
   * @param {HTMLElement} root the panel's element (emptied and filled here)
   * @param {object} options
   * @param {{minutes?: number | null, episodes?: number | null}} options.session the task's length
   * @param {() => void} [options.onTimeUp] called once when the played time reaches the session's
   */
  constructor(root, { session, onTimeUp }) {
    this.root = root;
    this.limitSeconds = typeof session.minutes === "number" ? session.minutes * 60 : null;
    this.onTimeUp = onTimeUp ?? (() => {});
    /** @type {ProgressReport | null} the last report */
    this.report = null;
    /** Where the last report stands: its played seconds at a frame of an episode. */
    this.anchor = { episodeId: /** @type {string | null} */ (null), frame: 0, played: 0 };
    this.playedSeconds = 0;
    this.timeUp = false;
    this._shownSecond = -1;

    root.replaceChildren();
    this.timer = element("p", "panel-timer");
    this.timer.id = "panel-timer";
    this.total = element("p", "panel-total");
    this.total.id = "panel-score";
    this.progress = element("div", "panel-progress");
    this.progress.id = "panel-progress";
    this.progress.hidden = true;
    root.append(this.timer, this.total, this.progress);
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
    this._renderProgress(report.progress);
    this._showTimer();
  }

  /**
   * The emulator played `frame` frames of `episodeId`: advance the timer.
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
    const heading = element("h2", "panel-heading", progress.challenge ? "Challenges" : "Requirements");
    heading.id = "panel-heading";
    const list = element("ul", "panel-items");
    list.id = "panel-items";
    for (const item of progress.items) {
      const li = element("li", item.met ? "panel-item met" : "panel-item");
      li.dataset.statistic = item.statistic;
      const mark = element("span", "mark", item.met ? "✓" : "");
      mark.setAttribute("aria-label", item.met ? "met" : "not met yet");
      const text = element("span", "item-text", itemText(item, progress.challenge));
      const bar = /** @type {HTMLProgressElement} */ (element("progress"));
      bar.max = 1;
      bar.value = item.required > 0 ? Math.min(1, item.value / item.required) : 1;
      bar.setAttribute("aria-label", item.label);
      li.append(mark, text, bar);
      list.append(li);
    }
    const overall = element("div", "panel-completion");
    overall.id = "panel-completion";
    const bar = /** @type {HTMLProgressElement} */ (element("progress"));
    bar.max = 1;
    bar.value = progress.completion;
    bar.setAttribute("aria-label", "overall completion");
    overall.append(element("span", "", `Overall: ${Math.round(progress.completion * 100)}%`), bar);
    const parts = [heading, list, overall];
    if (progress.raffle) {
      const met = progress.requirements_met;
      const raffle = element("p", "panel-raffle", `Raffle entries so far: ${met} (one per requirement met)`);
      raffle.id = "panel-raffle";
      parts.push(raffle);
    }
    if (!progress.challenge && !(progress.raffle && progress.total === 0)) {
      const payment = element("p", "panel-payment", `Estimated payment: ${formatPayment(progress)}`);
      payment.id = "panel-payment";
      parts.push(payment);
    }
    this.progress.replaceChildren(...parts);
  }
}
