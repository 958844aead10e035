// An API error in words a user understands.
import { t } from "./i18n.js";

const UPSTREAM_DOWN = new Set(["upstream_error", "upstream_unreachable", "upstream_bad_response",
  "upstream_model_unavailable", "upstream_rejected"]);
const NOT_CONFIGURED = new Set(["openai_not_configured", "auth_not_configured", "history_disabled", "misconfigured",
  "auth_unavailable"]);

export function describe(error) {
  const code = error.code || "unknown";
  const seconds = error.retryAfter || 60;
  if (code === "rate_limited" && String(error.details.limit || "").endsWith(":day")) {
    const time = new Date(error.details.resetAt).toLocaleString(document.documentElement.lang);
    return t("error.rate_limited_day", { time });
  }
  if (code === "rate_limited" || code === "upstream_rate_limited") return t(`error.${code}`, { seconds });
  if (UPSTREAM_DOWN.has(code)) return t("error.upstream_down");
  if (NOT_CONFIGURED.has(code)) return t("error.not_configured", { message: error.message });
  if (code === "history_unavailable") return t("error.history");
  if (["upstream_quota", "upstream_auth", "upstream_timeout", "upstream_stream_interrupted", "unauthorized",
    "payload_too_large", "conversation_not_found", "network"].includes(code)) return t(`error.${code}`);
  if (code === "validation_error") return t("error.validation_error", { message: error.message });
  return t("error.unknown", { code });
}

export function show(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}
