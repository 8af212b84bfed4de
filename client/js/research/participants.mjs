// The console's table of participants (GET /research/api/sessions): one row per session, with the
// participant's pseudonym, the platform id a bonus is paid to (MTurk, Prolific), the payment and
// the session's episodes (opened by its button), each linking to its replay viewer. Actions: exclude an episode from payment with a
// reason (or count it again), mark a settled bonus paid. The table is redrawn on every poll,
// except while a reason is being typed; opened sessions stay open.
import { $, describe, element } from "../dom.mjs";
import { formatMoney } from "../format.mjs";
import { call, post } from "./api.mjs";
import { fillTable, formatTime, row } from "./table.mjs";

/** Sessions whose episodes are shown. */
const opened = new Set();
/** Whether an exclusion form is open (the table is not redrawn under it). */
let editing = false;

/** @param {any} session */
function paymentText(session) {
  if (!session.settled) return session.state === "finished" ? "settling…" : "–";
  const p = session.payment;
  if (!p) return "unpaid task";
  const money = (/** @type {number} */ x) => formatMoney(x, p.currency);
  return `${money(p.base)} + ${money(p.bonus)}`;
}

/** @param {any} session @param {() => Promise<void>} changed */
function bonusCell(session, changed) {
  if (session.bonus_paid_at) return element("span", "paid", `paid ${formatTime(session.bonus_paid_at)}`);
  if (!session.payment || session.payment.bonus <= 0) return "–";
  const button = /** @type {HTMLButtonElement} */ (element("button", "small-button", "Mark bonus paid"));
  button.dataset.action = "bonus-paid";
  button.addEventListener("click", () =>
    act(button, () => post(`/research/api/sessions/${encodeURIComponent(session.session_id)}/bonus-paid`), changed),
  );
  return button;
}

/**
 * Runs an action of a button; its error is shown beside the button.
 * @param {HTMLElement} button @param {() => Promise<unknown>} action @param {() => Promise<void>} changed
 */
async function act(button, action, changed) {
  const cell = /** @type {HTMLElement} */ (button.parentElement);
  cell.querySelector(".action-error")?.remove();
  /** @type {HTMLButtonElement} */ (button).disabled = true;
  try {
    await action();
    editing = false;
    await changed();
  } catch (e) {
    cell.append(element("div", "action-error", describe(e)));
    /** @type {HTMLButtonElement} */ (button).disabled = false;
  }
}

/** @param {any} episode */
function flags(episode) {
  const out = [];
  if (episode.duplicate_of) out.push(`duplicate of ${episode.duplicate_of.slice(0, 8)}`);
  if (episode.excluded_reason) out.push(`excluded: ${episode.excluded_reason}`);
  if (episode.quality_met === false) out.push("below the quality threshold");
  if (episode.audit_flags?.length) out.push(`audit: ${episode.audit_flags.join(", ").replaceAll("_", " ")}`);
  return out.join("; ") || "–";
}

/** @param {any} episode @param {() => Promise<void>} changed */
function episodeAction(episode, changed) {
  const box = element("div", "episode-action");
  const path = `/research/api/episodes/${encodeURIComponent(episode.episode_id)}`;
  if (episode.excluded_reason) {
    const button = element("button", "small-button", "Count again");
    button.dataset.action = "include";
    button.addEventListener("click", () => act(button, () => post(`${path}/include`), changed));
    box.append(button);
    return box;
  }
  if (episode.status !== "ended") return "–";
  const open = element("button", "small-button", "Exclude…");
  open.dataset.action = "exclude";
  open.addEventListener("click", () => {
    editing = true;
    const form = /** @type {HTMLFormElement} */ (element("form", "exclude-form"));
    const input = /** @type {HTMLInputElement} */ (element("input"));
    input.name = "reason";
    input.placeholder = "Reason (kept with the episode)";
    input.required = true;
    input.maxLength = 500;
    input.setAttribute("aria-label", "Reason for excluding the episode from payment");
    const submit = /** @type {HTMLButtonElement} */ (element("button", "small-button primary", "Exclude from payment"));
    submit.type = "submit";
    const cancel = element("button", "small-button", "Cancel");
    /** @type {HTMLButtonElement} */ (cancel).type = "button";
    cancel.addEventListener("click", () => {
      editing = false;
      box.replaceChildren(open);
    });
    form.append(input, submit, cancel);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void act(submit, () => post(`${path}/exclude`, { reason: input.value }), changed);
    });
    box.replaceChildren(form);
    input.focus();
  });
  box.append(open);
  return box;
}

/** The episode's id, linking to its replay viewer. @param {string} episodeId */
function episodeLink(episodeId) {
  const link = /** @type {HTMLAnchorElement} */ (element("a", "episode-link"));
  link.href = `/research/episodes/${encodeURIComponent(episodeId)}`;
  link.title = `Watch episode ${episodeId}`;
  link.dataset.action = "view";
  link.append(element("code", undefined, episodeId.slice(0, 10)));
  return link;
}

/** @param {any} session @param {() => Promise<void>} changed */
function episodesRow(session, changed) {
  const table = element("table", "grid inner");
  const rows = session.episodes.map((/** @type {any} */ e) =>
    row(
      [
        episodeLink(e.episode_id),
        e.verdict ?? (e.status === "open" ? "playing" : "awaiting verdict"),
        e.score ?? "–",
        `${(e.frames / 60).toFixed(1)} s`,
        flags(e),
        e.reason ?? "–",
        episodeAction(e, changed),
      ],
      { episodeId: e.episode_id },
    ),
  );
  fillTable(table, ["Episode", "Verdict", "Score", "Played", "Flags", "Verifier", "Payment"], rows, "No episodes yet.");
  const tr = /** @type {HTMLTableRowElement} */ (element("tr", "episodes-row"));
  tr.dataset.episodesOf = session.session_id;
  const td = /** @type {HTMLTableCellElement} */ (element("td"));
  td.colSpan = 8;
  td.append(table);
  tr.append(td);
  return tr;
}

/** @param {any[]} sessions @param {() => Promise<void>} changed */
function show(sessions, changed) {
  /** @type {HTMLTableRowElement[]} */
  const rows = [];
  for (const s of sessions) {
    const who = element("div");
    who.append(element("code", undefined, s.participant));
    const platform = element("div");
    platform.append(s.platform);
    if (s.payment_id) platform.append(element("div", "muted small", s.payment_id));
    const toggle = element("button", "small-button", `${opened.has(s.session_id) ? "Hide" : "Show"} ${s.episodes.length}`);
    toggle.setAttribute("aria-expanded", String(opened.has(s.session_id)));
    toggle.dataset.action = "episodes";
    toggle.addEventListener("click", () => {
      if (opened.has(s.session_id)) opened.delete(s.session_id);
      else opened.add(s.session_id);
      editing = false;
      show(sessions, changed);
    });
    const task = element("div");
    task.append(s.task_id, element("div", "muted small", s.treatment ?? "no treatment"));
    rows.push(
      row(
        [who, platform, task, element("span", `state-${s.state}`, s.state), formatTime(s.started_at), toggle, paymentText(s), bonusCell(s, changed)],
        { sessionId: s.session_id },
      ),
    );
    if (opened.has(s.session_id)) rows.push(episodesRow(s, changed));
  }
  fillTable(
    $("sessions-table"),
    ["Participant", "Platform", "Task", "State", "Started", "Episodes", "Base + bonus", "Bonus"],
    rows,
    "No sessions yet.",
  );
}

/**
 * Loads the sessions and draws the table (not while a reason is being typed).
 * @param {() => Promise<void>} changed what to run after an action changed something
 */
export async function refreshSessions(changed) {
  if (editing) return;
  const { sessions } = await call("/research/api/sessions");
  if (!editing) show(sessions, changed);
}
