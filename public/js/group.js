// The "ChatGPT Groupe" tab: OpenAI has no group-chat API, so this keeps the room's link, opens and copies it.
import { t } from "./i18n.js";

const STORAGE_KEY = "dashboard.groupchatUrl";

export function isChatgptLink(value) {
  try {
    const url = new URL(value);
    return url.protocol === "https:" && url.hostname === "chatgpt.com" && !url.port && !url.username
      && url.pathname.length > 1;
  } catch {
    return false;
  }
}

export function setupGroup(config) {
  const input = document.getElementById("group-url");
  const message = document.getElementById("group-message");
  const saved = () => localStorage.getItem(STORAGE_KEY) || config.groupchatUrl || "";
  const say = (key, kind) => {
    message.textContent = key ? t(key) : "";
    message.dataset.kind = kind || "";
    input.setAttribute("aria-invalid", kind === "error" ? "true" : "false");
  };
  input.value = saved();

  // The link in the field, saved when it changed; null (and a message) when it is not a chatgpt.com link.
  const link = () => {
    const value = input.value.trim();
    if (!value) {
      say("group.none", "error");
      return null;
    }
    if (!isChatgptLink(value)) {
      say("group.invalid", "error");
      input.focus();
      return null;
    }
    if (value !== saved()) localStorage.setItem(STORAGE_KEY, value);
    return value;
  };

  document.getElementById("group-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (link()) say("group.saved", "ok");
  });
  document.getElementById("group-reset").addEventListener("click", () => {
    localStorage.removeItem(STORAGE_KEY);
    input.value = saved();
    say(input.value ? "" : "group.none");
  });
  document.getElementById("group-open").addEventListener("click", () => {
    const url = link();
    if (url) {
      window.open(url, "_blank", "noopener,noreferrer");
      say("");
    }
  });
  document.getElementById("group-copy").addEventListener("click", async () => {
    const url = link();
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      say("group.copied", "ok");
    } catch {
      input.select();
      say("group.copyFailed", "error");
    }
  });
  if (!input.value) say("group.none");
}
