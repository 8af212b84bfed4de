// What a session's incentive treatment asks and pays, in the participant's words: the amount at
// stake and how to earn it (the instructions, the live panel, the Finish confirmation), what
// "active" playtime means, and which requirements stay met once met.
//
// A requirement on a count or a time only grows, so once met it is met for good ("final"); one on
// a fraction (or on points, which some games take away) is only met for now: it can drop again
// before the session ends.
import { formatMoney, formatValue } from "./format.mjs";

/** @typedef {import("./messages").TreatmentSummary} TreatmentSummary */
/** @typedef {import("./messages").ProgressItem} ProgressItem */
/** @typedef {import("./messages").Unit} Unit */

/** What counts as active playtime (verifier/stats/generic.py, the paper's "Active Time"). */
export const ACTIVE_HELP =
  "Active playtime counts only while you play actively: you pressed a key in the last 30 seconds " +
  "and scored points in the last 60 seconds.";

/**
 * Whether a met requirement on a value of this unit stays met (the value only grows).
 * @param {Unit} unit
 */
export const isFinal = (unit) => unit === "count" || unit === "seconds";

/**
 * Whether the treatment pays money.
 * @param {TreatmentSummary | null} terms
 */
export const pays = (terms) => terms !== null && !terms.challenge && terms.at_stake > 0;

/**
 * An amount in the treatment's currency.
 * @param {TreatmentSummary} terms
 * @param {number} amount
 */
export const money = (terms, amount) => formatMoney(amount, terms.currency);

/**
 * The time requirement as the participant reads it: "5:00 of active playtime".
 * @param {TreatmentSummary} terms
 */
function timeNeeded(terms) {
  if (terms.time === null) return null;
  const what = terms.time.statistic === "Active playtime" ? "active playtime" : "play";
  return `${formatValue(terms.time.seconds, "seconds")} of ${what}`;
}

/**
 * One requirement's threshold: "Correct aliens shot: at least 50".
 * @param {{label: string, required: number, unit: Unit}} requirement
 */
export function requirementText(requirement) {
  const share = requirement.unit === "fraction" ? " (a share: it must still hold when you finish)" : "";
  return `${requirement.label}: at least ${formatValue(requirement.required, requirement.unit)}${share}`;
}

/**
 * How the session's pay is earned, one sentence per part (base pay, bonus). Empty without money.
 * @param {TreatmentSummary} terms
 * @returns {string[]}
 */
export function earningSteps(terms) {
  if (!pays(terms)) return [];
  const steps = [];
  const every = terms.requirements.length === 1 ? "meet the requirement" : "meet every requirement";
  if (terms.base_pay > 0) {
    const conditions = [timeNeeded(terms), terms.base_requires_minimum && terms.requirements.length ? every : null]
      .filter((c) => c !== null);
    const when = conditions.length ? `once you have ${conditions.join(" and ")}` : "for taking part";
    steps.push(`${money(terms, terms.base_pay)} base payment ${when}.`);
  }
  if (terms.bonus_maximum > 0) {
    const factors = terms.bonus_factors.map(
      (f) => `${f.label} (from ${formatValue(f.start, f.unit)}, full at ${formatValue(f.full, f.unit)})`,
    );
    const contingent = terms.bonus_requires_minimum && terms.requirements.length ? `, if you ${every}` : "";
    steps.push(`A bonus of up to ${money(terms, terms.bonus_maximum)} that grows with ${factors.join(" and with ")}${contingent}.`);
  }
  return steps;
}

/**
 * The amount at stake in one line: "up to $2.00 ($0.50 base + up to $1.50 bonus)".
 * @param {TreatmentSummary} terms
 */
export function stakeText(terms) {
  const parts = [];
  if (terms.base_pay > 0) parts.push(`${money(terms, terms.base_pay)} base`);
  if (terms.bonus_maximum > 0) parts.push(`up to ${money(terms, terms.bonus_maximum)} bonus`);
  const detail = parts.length > 1 ? ` (${parts.join(" + ")})` : "";
  return `up to ${money(terms, terms.at_stake)}${detail}`;
}

/**
 * A requirement not met yet, for the Finish confirmation: "Correct aliens shot: 12 of 50".
 * @param {ProgressItem} item
 */
export function shortfall(item) {
  return `${item.label}: ${formatValue(item.value, item.unit)} of ${formatValue(item.required, item.unit)}`;
}
