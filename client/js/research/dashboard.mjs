// The research console's dashboard (client/research.html, docs/console.md): polls
// GET /research/api/overview every few seconds and shows the tasks, the plots (SVG drawn by the
// server; an image is loaded again only when its data changed), the treatments and the money;
// the participants table is participants.mjs. Sign out clears the cookie.
import { $, describe, element } from "../dom.mjs";
import { formatMoney } from "../format.mjs";
import { call, post, toSignIn } from "./api.mjs";
import { refreshSessions } from "./participants.mjs";
import { counts, fillTable, formatHours, percent, row } from "./table.mjs";

const EPISODE_KEYS = ["open", "accepted", "rejected", "incomplete", "unusable", "unverified"];
const SESSION_KEYS = ["running", "finished", "abandoned"];
const BONUS_FILES = /** @type {Record<string, string>} */ ({
  prolific: "Prolific bulk bonus (ID,amount)",
  mturk: "MTurk bonuses (SendBonus rows)",
});

/** @param {any} task */
function goodData(task) {
  const box = element("div", "good");
  const bar = /** @type {HTMLProgressElement} */ (element("progress"));
  bar.max = 1;
  bar.value = Math.min(1, task.fraction);
  const text = element("span", undefined, `${formatHours(task.good_hours)} of ${formatHours(task.target_hours)}`);
  text.dataset.key = "good";
  const share = element("span", "muted", ` (${percent(task.fraction)})`);
  box.append(bar, text, share);
  if (task.pending_hours > 0) box.append(element("div", "muted small", `+ ${formatHours(task.pending_hours)} expected`));
  return box;
}

/** @param {any[]} reasons */
function reasonList(reasons) {
  if (reasons.length === 0) return element("span", "muted", "none");
  const list = element("ul", "reasons");
  for (const r of reasons) {
    const item = element("li");
    item.append(element("b", `kind-${r.kind}`, `${r.kind} ×${r.count}`), `: ${r.reason}`);
    list.append(item);
  }
  return list;
}

/** @param {any} overview */
function showTasks(overview) {
  const rows = overview.tasks.map((/** @type {any} */ t) => {
    const name = element("div");
    name.append(element("b", undefined, t.title), element("div", "muted small", t.task_id));
    return row(
      [
        name,
        goodData(t),
        counts(t.sessions, SESSION_KEYS),
        counts(t.episodes, EPISODE_KEYS),
        counts(t.episodes, ["flagged", "below_quality", "audit_flagged"]),
        reasonList(t.reasons),
      ],
      { taskId: t.task_id },
    );
  });
  fillTable($("tasks-table"), ["Task", "Good data / target", "Sessions", "Episodes", "Not counted", "Reasons"], rows, "No tasks.");
}

/** @param {any} overview */
function showTreatments(overview) {
  const rows = overview.treatments.map((/** @type {any} */ t) => {
    const money = (/** @type {number | null} */ x) => (x === null ? "–" : formatMoney(x, t.currency));
    const met = element("ul", "plain");
    for (const r of t.requirements) met.append(element("li", undefined, `${r.label}: ${percent(r.met_rate)}`));
    return row(
      [t.task_id, t.treatment, t.sessions, t.settled, money(t.mean_bonus), money(t.mean_total), percent(t.mean_completion), t.requirements.length ? met : "–"],
      { taskId: t.task_id, treatment: t.treatment },
    );
  });
  fillTable(
    $("treatments-table"),
    ["Task", "Treatment", "Sessions", "Settled", "Mean bonus", "Mean total", "Mean completion", "Requirements met"],
    rows,
    "No task has incentive treatments.",
  );
}

/** @param {any} overview */
function showMoney(overview) {
  const rows = overview.money.map((/** @type {any} */ m) => {
    const money = (/** @type {number} */ x) => formatMoney(x, m.currency);
    return row(
      [m.platform, m.finished, m.settled, m.unsettled, money(m.base_owed), money(m.bonus_owed), money(m.bonus_paid), `${money(m.bonus_unpaid)} (${m.bonuses_unpaid})`],
      { platform: m.platform, currency: m.currency },
    );
  });
  fillTable(
    $("money-table"),
    ["Platform", "Finished", "Settled", "Not settled", "Base owed", "Bonus owed", "Bonus paid", "Bonus unpaid (sessions)"],
    rows,
    "No finished session of a paying treatment yet.",
  );
  const links = [["Payments CSV (all platforms)", "/research/api/payments.csv"]];
  for (const platform of new Set(overview.money.map((/** @type {any} */ m) => m.platform))) {
    links.push([`Payments CSV (${platform})`, `/research/api/payments.csv?platform=${encodeURIComponent(platform)}`]);
  }
  for (const platform of overview.bonus_platforms) {
    links.push([BONUS_FILES[platform] ?? `${platform} bonuses`, `/research/api/bonuses/${platform}.csv`]);
  }
  $("downloads").replaceChildren(
    ...links.map(([text, href]) => {
      const link = /** @type {HTMLAnchorElement} */ (element("a", "download", text));
      link.href = href;
      link.download = "";
      return link;
    }),
  );
}

/** @param {Record<string, string>} urls */
function showCharts(urls) {
  for (const [name, url] of Object.entries(urls)) {
    const image = /** @type {HTMLImageElement} */ ($(`chart-${name}`));
    if (image && image.getAttribute("src") !== url) image.src = url;
  }
}

let pollSeconds = 3;

async function refresh() {
  const overview = await call("/research/api/overview");
  pollSeconds = overview.poll_seconds ?? pollSeconds;
  $("live-count").textContent = String(overview.live.participants);
  showTasks(overview);
  showCharts(overview.charts);
  showTreatments(overview);
  showMoney(overview);
  await refreshSessions(refresh);
  const at = new Date(overview.generated_at).toLocaleTimeString("en-GB");
  $("status").textContent = `Updated ${at}; updates every ${pollSeconds} s.`;
}

async function poll() {
  for (;;) {
    try {
      await refresh();
      $("problem").hidden = true;
    } catch (e) {
      $("problem").textContent = `Could not update the dashboard: ${describe(e)}. Trying again…`;
      $("problem").hidden = false;
    }
    await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
  }
}

$("open-episode-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = /** @type {HTMLInputElement} */ ($("open-episode-id")).value.trim();
  if (id) location.assign(`/research/episodes/${encodeURIComponent(id)}`);
});

$("signout-button").addEventListener("click", async () => {
  try {
    await post("/research/signout");
  } finally {
    toSignIn();
  }
});

void poll();
