// The client's rights in the page: "Télécharger mes données" (GET /api/me/data, one zip of JSON and Markdown) and
// "Supprimer toutes mes données" (DELETE /api/me/data, behind a confirmation saying what goes and what stays).
//
// Mounting it: put an empty element with id "my-data" and class "my-data" where it belongs (e.g. the account
// menu) and link /my-data.css; then, once the API has the caller's credentials (useCredentials), call
// `setupMyData(config, { onErased })`. It builds its own buttons (#my-data-export, #my-data-erase), status line
// (#my-data-status) and confirmation <dialog> (#my-data-dialog) inside that element; it needs no other element.
// `onErased` runs after an erasure (e.g. reload the conversation list). It shows nothing when history is off
// (config.history false). Its words are in js/controls-strings.js, French and English, like i18n.js's.
import { blob, request } from "./api.js";
import "./controls-strings.js";
import { describe, show } from "./errors.js";
import { say } from "./i18n.js";

function button(key, kind) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = kind;
  say(element, key);
  return element;
}

function paragraph(key) {
  const element = document.createElement("p");
  say(element, key);
  return element;
}

function confirmation() {
  const dialog = document.createElement("dialog");
  dialog.className = "dialog";
  dialog.id = "my-data-dialog";
  dialog.setAttribute("aria-labelledby", "my-data-dialog-title");
  const form = document.createElement("form");
  form.method = "dialog";
  const title = document.createElement("h2");
  title.id = "my-data-dialog-title";
  say(title, "myData.confirmTitle");
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  const cancel = button("dialog.cancel", "secondary");
  cancel.value = "cancel";
  cancel.type = "submit";
  const confirm = button("myData.confirm", "danger");
  confirm.value = "confirm";
  confirm.type = "submit";
  actions.append(cancel, confirm);
  form.append(title, paragraph("myData.confirmGoes"), paragraph("myData.confirmStays"), actions);
  dialog.append(form);
  return dialog;
}

function save(file, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(file);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

export function setupMyData(config, { onErased = () => {} } = {}) {
  const root = document.getElementById("my-data");
  if (!root || (config && config.history === false)) return null;
  const exporter = button("myData.export", "secondary");
  exporter.id = "my-data-export";
  const eraser = button("myData.erase", "secondary danger-text");
  eraser.id = "my-data-erase";
  const status = document.createElement("p");
  status.id = "my-data-status";
  status.className = "form-message";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const error = document.createElement("p");
  error.className = "banner error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  const dialog = confirmation();
  root.replaceChildren(exporter, eraser, status, error, dialog);

  const attempt = async (action) => {
    show(error, null);
    say(status, null);
    try {
      await action();
    } catch (failure) {
      show(error, describe(failure));
    }
  };
  exporter.addEventListener("click", () => attempt(async () => {
    save(await blob("/api/me/data"), "mes-donnees.zip");
    say(status, "myData.exported");
  }));
  eraser.addEventListener("click", () => dialog.showModal());
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "confirm") return eraser.focus();
    attempt(async () => {
      const erased = await request("DELETE", "/api/me/data", { confirm: "erase" });
      say(status, "myData.erased", { conversations: erased.conversations, messages: erased.messages });
      onErased(erased);
    });
  });
  return { root };
}
