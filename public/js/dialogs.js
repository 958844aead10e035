// Accessible modal dialogs (<dialog> with showModal: focus trapped, Escape closes, focus returns): confirm, ask.
import { say } from "./i18n.js";

function run(dialog, setup) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    dialog.returnValue = "";
    setup();
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      const back = stillThere(opener);
      if (back && !inClosedDrawer(back)) back.focus();
      else if (back) document.getElementById("drawer-button").focus();  // its drawer was closed under the dialog
    }, { once: true });
    dialog.showModal();
  });
}

// Whether an element is in the phone's conversation drawer while that drawer is closed.
export function inClosedDrawer(element) {
  return Boolean(element.closest(".chat-sidebar")) && document.body.dataset.drawer !== "open"
    && window.matchMedia("(max-width: 800px)").matches;
}

// The opener, or what replaced it if its list was drawn again while the dialog was open (same accessible name).
function stillThere(opener) {
  if (!opener || opener.isConnected) return opener;
  const label = opener.getAttribute("aria-label");
  return label ? document.querySelector(`[aria-label="${CSS.escape(label)}"]`) : null;
}

// Ask before a destructive action (its title, words and button given as keys); true when confirmed.
export function confirmAction({ title, text, ok, values = {} }) {
  const dialog = document.getElementById("confirm-dialog");
  return run(dialog, () => {
    say(document.getElementById("confirm-title"), title, values);
    say(document.getElementById("confirm-text"), text, values);
    say(document.getElementById("confirm-ok"), ok, values);
    queueMicrotask(() => dialog.querySelector("button[value=cancel]").focus());
  });
}

export function confirmDelete(title) {
  return confirmAction({ title: "chat.deleteTitle", text: "chat.deleteText", ok: "chat.deleteConfirm", values: { title } });
}

// Ask for a new title; the trimmed title, or null when cancelled. `check` answers an i18n key when it is refused.
export async function askTitle(current) {
  const dialog = document.getElementById("rename-dialog");
  const input = document.getElementById("rename-input");
  const message = document.getElementById("rename-message");
  const form = document.getElementById("rename-form");
  const guard = (event) => {
    const title = input.value.split(/\s+/).join(" ").trim();
    if (event.submitter && event.submitter.value === "confirm" && (!title || title.length > 200)) {
      event.preventDefault();
      say(message, "chat.renameInvalid");
      message.dataset.kind = "error";
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  };
  // Enter in the field renames (a form's implicit submission would otherwise press its first button, Cancel)
  const enter = (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    form.requestSubmit(form.querySelector("button[value=confirm]"));
  };
  form.addEventListener("submit", guard);
  input.addEventListener("keydown", enter);
  const confirmed = await run(dialog, () => {
    input.value = current;
    input.setAttribute("aria-invalid", "false");
    say(message, null);
    queueMicrotask(() => input.select());
  });
  form.removeEventListener("submit", guard);
  input.removeEventListener("keydown", enter);
  return confirmed ? input.value.split(/\s+/).join(" ").trim() : null;
}

