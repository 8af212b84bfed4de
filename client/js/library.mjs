// The task list page (client/index.html): every task from GET /api/tasks, linking to its play
// page with this page's query string (platform parameters ride along).
import { listTasks } from "./api.mjs";

/** @param {import("./api.mjs").Task} task */
function describeLength(task) {
  if (task.session?.minutes !== undefined) return `about ${task.session.minutes} minutes`;
  if (task.session?.episodes !== undefined) return `${task.session.episodes} games`;
  return "";
}

async function main() {
  const list = /** @type {HTMLUListElement} */ (document.getElementById("tasks"));
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  try {
    const tasks = await listTasks();
    if (tasks.length === 0) status.textContent = "There are no tasks right now.";
    else status.hidden = true;
    for (const task of tasks) {
      const item = document.createElement("li");
      item.className = "task";
      const link = document.createElement("a");
      link.href = `/play/${encodeURIComponent(task.id)}${location.search}`;
      link.textContent = task.title;
      link.dataset.taskId = task.id;
      const about = document.createElement("p");
      about.textContent = task.description;
      const length = document.createElement("p");
      length.className = "muted";
      length.textContent = describeLength(task);
      item.append(link, about, length);
      list.append(item);
    }
  } catch (e) {
    status.textContent = `Could not load the tasks: ${e instanceof Error ? e.message : e}`;
  }
}

void main();
