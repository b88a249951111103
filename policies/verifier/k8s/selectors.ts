/*
 * Label selectors as the API server evaluates them (apimachinery's LabelSelectorAsSelector): matchLabels
 * and matchExpressions are ANDed; an empty selector selects everything. NotIn and DoesNotExist also match
 * objects without the key.
 */
import type { LabelSelector, Labels, SelectorRequirement } from "./model.js";

function requirementMatches(r: SelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.operator) {
    case "In":
      return has && r.values.includes(labels[r.key]!);
    case "NotIn":
      return !has || !r.values.includes(labels[r.key]!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
  }
}

export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    if (!Object.prototype.hasOwnProperty.call(labels, k) || labels[k] !== v) return false;
  }
  return selector.matchExpressions.every((r) => requirementMatches(r, labels));
}

export const EVERYTHING: LabelSelector = { matchLabels: {}, matchExpressions: [] };
