// An API error in the page's own words, chosen by its code (and `limit`, `field`): the server's English message is
// never shown, nor a setting name.
import { has, locale, say } from "./i18n.js";

// The words for an error: an i18n key and its values.
export function describe(error) {
  const code = error.code || "unknown";
  const details = error.details || {};
  const seconds = error.retryAfter || 60;
  if (code === "rate_limited" || code === "upstream_rate_limited") {
    const specific = `error.${code}.${details.limit}`;
    const time = details.resetAt ? new Date(details.resetAt).toLocaleString(locale(), {
      weekday: "long", hour: "2-digit", minute: "2-digit" }) : "";
    return { key: has(specific) ? specific : `error.${code}`, values: { seconds, time } };
  }
  if (code === "validation_error" && has(`error.validation_error.${details.field}`)) {
    return { key: `error.validation_error.${details.field}`, values: { max: error.maxChars || 8000 } };
  }
  return { key: has(`error.${code}`) ? `error.${code}` : "error.unknown", values: {} };
}

// Show (or, with null, hide) a described error in an element.
export function show(element, described) {
  if (!described) {
    say(element, null);
    element.hidden = true;
    return;
  }
  say(element, described.key, described.values);
  element.hidden = false;
}
