// Values as the participant reads them: clock times, numbers, money, a value in its unit (count,
// fraction, seconds, points), a payment's breakdown, ranks and the whole numbers of a histogram
// bin. Shared by the play view's panel, the end page and the score page.

/** @typedef {import("./messages").ProgressItem} ProgressItem */
/** @typedef {import("./messages").Progress} Progress */

/**
 * Seconds as m:ss (h:mm:ss from an hour on).
 * @param {number} seconds
 */
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const s = String(total % 60).padStart(2, "0");
  const m = Math.floor(total / 60);
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * A number as people read it: integers as they are, others to at most two decimals.
 * @param {number} value
 */
export function formatNumber(value) {
  return value.toLocaleString("en", { maximumFractionDigits: Number.isInteger(value) ? 0 : 2 });
}

/**
 * A requirement's value in its unit (docs/protocol.md: count, fraction, seconds, points).
 * @param {number} value
 * @param {string} unit
 */
export function formatValue(value, unit) {
  if (unit === "fraction") return `${Math.round(Math.min(1, Math.max(0, value)) * 100)}%`;
  if (unit === "seconds") return formatClock(value);
  return formatNumber(unit === "count" ? Math.floor(value) : value);
}

/**
 * An amount of money in a currency ("$0.50"); an unknown currency code is written after it.
 * @param {number} amount
 * @param {string} currency ISO 4217 code
 */
export function formatMoney(amount, currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`; // not an ISO code Intl knows
  }
}

/**
 * What a session earns: "$0.50 base + $0.25 bonus = $0.75".
 * @param {Progress} progress
 */
export function formatPayment(progress) {
  const money = (/** @type {number} */ amount) => formatMoney(amount, progress.currency);
  return `${money(progress.base)} base + ${money(progress.bonus)} bonus = ${money(progress.total)}`;
}

/**
 * One requirement as text: "Correct aliens shot: 40 (required: 50)".
 * @param {ProgressItem} item
 * @param {boolean} challenge
 */
export function itemText(item, challenge) {
  const word = challenge ? "goal" : "required";
  return `${item.label}: ${formatValue(item.value, item.unit)} (${word}: ${formatValue(item.required, item.unit)})`;
}

/** "1st", "2nd", "3rd", "4th", "11th", "22nd"… @param {number} n */
export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] ?? "th";
  return `${n}${suffix}`;
}

/**
 * The whole numbers a histogram bin [low, high) holds, as its label: "3", "3–5", or null for none.
 * @param {number} low
 * @param {number} high
 * @param {boolean} last whether the bin also holds `high` (the last bin does)
 */
export function wholeRange(low, high, last) {
  const first = Math.ceil(low - 1e-9);
  const end = last ? Math.floor(high + 1e-9) : Math.ceil(high - 1e-9) - 1;
  if (end < first) return null;
  return end === first ? formatNumber(first) : `${formatNumber(first)}–${formatNumber(end)}`;
}
