// The ChatGPT group room launcher (a dialog, not the first screen): OpenAI has no group-chat API, so this keeps the
// room's link, opens and copies it.
import { say } from "./i18n.js";

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
  const dialog = document.getElementById("group-dialog");
  const opener = document.getElementById("group-button");
  if (!config.history) document.querySelector(".topbar-actions").prepend(opener);  // no sidebar: in the header
  opener.addEventListener("click", () => dialog.showModal());
  document.getElementById("group-close").addEventListener("click", () => dialog.close());
  const tell = (key, kind) => {
    say(message, key || null);
    message.dataset.kind = kind || "";
    input.setAttribute("aria-invalid", kind === "error" ? "true" : "false");
  };
  input.value = saved();

  // The link in the field, saved when it changed; null (and a message) when it is not a chatgpt.com link.
  const link = () => {
    const value = input.value.trim();
    if (!value) {
      tell("group.none", "error");
      return null;
    }
    if (!isChatgptLink(value)) {
      tell("group.invalid", "error");
      input.focus();
      return null;
    }
    if (value !== saved()) localStorage.setItem(STORAGE_KEY, value);
    return value;
  };

  document.getElementById("group-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (link()) tell("group.saved", "ok");
  });
  document.getElementById("group-reset").addEventListener("click", () => {
    localStorage.removeItem(STORAGE_KEY);
    input.value = saved();
    tell(input.value ? "" : "group.none");
  });
  document.getElementById("group-open").addEventListener("click", () => {
    const url = link();
    if (url) {
      window.open(url, "_blank", "noopener,noreferrer");
      tell("");
    }
  });
  document.getElementById("group-copy").addEventListener("click", async () => {
    const url = link();
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      tell("group.copied", "ok");
    } catch {
      input.select();
      tell("group.copyFailed", "error");
    }
  });
  if (!input.value) tell("group.none");
}
