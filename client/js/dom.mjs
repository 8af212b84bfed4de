// The small DOM helpers the pages share: elements by id, new elements, the page's sections, an
// error as a sentence, and waiting.

/**
 * The element with this id (the pages' markup has it).
 * @param {string} id
 */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * A new element with an optional class and text.
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Shows one section of the page (a `<section>` child of `<main>`) and hides the others.
 * @param {string} id
 */
export function showSection(id) {
  for (const section of document.querySelectorAll("main > section")) {
    /** @type {HTMLElement} */ (section).hidden = section.id !== id;
  }
}

/**
 * An error as the page shows it: its message.
 * @param {unknown} e
 */
export const describe = (e) => (e instanceof Error ? e.message : String(e));

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
