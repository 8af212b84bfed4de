// Tables and values as the console shows them: a table filled from header and row arrays, a count
// cell a test can find (`data-key`), hours, shares and times.
import { element } from "../dom.mjs";

/** @typedef {string | number | Node | null} Cell */

/**
 * Replaces a table's content: one header row, then the rows.
 * @param {HTMLElement} table
 * @param {string[]} headers
 * @param {HTMLTableRowElement[]} rows
 * @param {string} empty what an empty table says
 */
export function fillTable(table, headers, rows, empty) {
  const head = element("thead");
  const top = element("tr");
  for (const text of headers) top.append(element("th", undefined, text));
  head.append(top);
  const body = element("tbody");
  if (rows.length === 0) {
    const cell = element("td", "muted", empty);
    /** @type {HTMLTableCellElement} */ (cell).colSpan = headers.length;
    const only = element("tr");
    only.append(cell);
    body.append(only);
  } else {
    body.append(...rows);
  }
  table.replaceChildren(head, body);
}

/**
 * A table row of cells.
 * @param {Cell[]} cells
 * @param {Record<string, string>} [data] data attributes of the row
 */
export function row(cells, data = {}) {
  const tr = /** @type {HTMLTableRowElement} */ (element("tr"));
  Object.assign(tr.dataset, data);
  for (const value of cells) {
    const td = element("td");
    if (value instanceof Node) td.append(value);
    else if (value !== null) td.textContent = String(value);
    tr.append(td);
  }
  return tr;
}

/**
 * Labelled counts "running 2 · finished 5", each number in a `data-key` span.
 * @param {Record<string, number>} counts
 * @param {string[]} keys which counts, in order
 */
export function counts(counts, keys) {
  const span = element("span", "counts");
  keys.forEach((key, i) => {
    if (i > 0) span.append(" · ");
    const number = element("b", counts[key] ? "" : "zero", String(counts[key] ?? 0));
    number.dataset.key = key;
    const pair = element("span", "count", `${key.replace("_", " ")} `);
    pair.append(number);
    span.append(pair);
  });
  return span;
}

/** Hours as a researcher reads them: seconds below a minute, minutes below an hour. @param {number} hours */
export function formatHours(hours) {
  const seconds = hours * 3600;
  if (seconds < 59.5) return `${Math.round(seconds)} s`;
  if (hours < 1) return `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
  return `${hours.toFixed(hours < 10 ? 2 : 1)} h`;
}

/** A share as a percentage, "–" for none. @param {number | null} share */
export const percent = (share) => (share === null ? "–" : `${Math.round(share * 100)}%`);

/** An ISO time as local "HH:MM" (with the date when not today); "–" for none. @param {string | null} iso */
export function formatTime(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  const time = when.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return when.toDateString() === new Date().toDateString()
    ? time
    : `${when.toLocaleDateString("en-CA")} ${time}`;
}
