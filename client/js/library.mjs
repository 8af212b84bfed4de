// The game library (client/index.html): a card per task from GET /api/tasks with its thumbnail
// (GET /api/tasks/<id>/thumbnail.png, a real frame of the game). A card links to the task's play
// page with this page's query string, so platform parameters ride along. `?group=G` shows only
// that task group's tasks; "Pick a game for me" goes to /play/auto (automatic assignment).
import { listTasks } from "./api.mjs";

/** @param {import("./api.mjs").Task} task */
function describeLength(task) {
  if (task.session?.minutes !== undefined) return `about ${task.session.minutes} minutes`;
  if (task.session?.episodes !== undefined) {
    return task.session.episodes === 1 ? "1 game" : `${task.session.episodes} games`;
  }
  return "";
}

/** @param {import("./api.mjs").Task} task @returns {HTMLLIElement} */
function card(task) {
  const item = document.createElement("li");
  item.className = "card";
  const link = document.createElement("a");
  link.className = "card-link";
  link.href = `/play/${encodeURIComponent(task.id)}${location.search}`;
  link.dataset.taskId = task.id;
  const image = document.createElement("img");
  image.className = "thumbnail";
  image.src = `/api/tasks/${encodeURIComponent(task.id)}/thumbnail.png`;
  image.alt = `${task.title}: a moment of the game`;
  image.width = 160;
  image.height = 210;
  const body = document.createElement("div");
  body.className = "card-body";
  const title = document.createElement("h2");
  title.textContent = task.title;
  const about = document.createElement("p");
  about.textContent = task.description;
  const length = document.createElement("p");
  length.className = "muted";
  length.textContent = describeLength(task);
  body.append(title, about, length);
  link.append(image, body);
  item.append(link);
  return item;
}

async function main() {
  const list = /** @type {HTMLUListElement} */ (document.getElementById("tasks"));
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  const auto = /** @type {HTMLAnchorElement} */ (document.getElementById("auto-link"));
  const group = new URLSearchParams(location.search).get("group");
  try {
    const tasks = (await listTasks()).filter((t) => group === null || t.group === group);
    if (tasks.length === 0) {
      status.textContent = "There are no games to play right now.";
      return;
    }
    status.hidden = true;
    list.append(...tasks.map(card));
    auto.href = `/play/auto${location.search}`;
    auto.hidden = tasks.length < 2;
  } catch (e) {
    status.textContent = `Could not load the games: ${e instanceof Error ? e.message : e}`;
  }
}

void main();
