// Thumbs up or down on a reply, and an optional comment: saved by the server for the firm (POST
// /api/groupchat/feedback), never sent to the assistant. The chosen thumb stays pressed (aria-pressed), read back
// once per conversation (GET ?conversationId=); choosing one opens a small box for a comment.
import { request } from "./api.js";
import { icon } from "./icons.js";
import { say, t } from "./i18n.js";

const FEEDBACK = "/api/groupchat/feedback";
const CHAT = "/api/groupchat/chat";
const COMMENT_MAX = 2000;
const known = new Map();  // conversation id → Promise of Map(message id → {rating, comment})

function ratingsOf(conversationId) {
  if (!known.has(conversationId)) {
    known.set(conversationId, request("GET", `${FEEDBACK}?conversationId=${encodeURIComponent(conversationId)}`)
      .then((found) => new Map(found.feedback.map((row) => [row.messageId, row])))
      .catch(() => new Map()));
  }
  return known.get(conversationId);
}

// A reply streamed just now has no id in the page yet: the stored conversation has it, at the same place from the end.
async function idOf(item, conversationId) {
  if (item.dataset.id) return Number(item.dataset.id);
  const shown = [...item.parentElement.querySelectorAll(".message.assistant")];
  const fromEnd = shown.length - shown.indexOf(item);
  const stored = (await request("GET", `${CHAT}?conversationId=${encodeURIComponent(conversationId)}`))
    .messages.filter((message) => message.role === "assistant");
  const message = stored[stored.length - fromEnd];
  if (!message) throw new Error("reply not stored");
  item.dataset.id = String(message.id);
  return message.id;
}

function thumb(rating) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `action thumb ${rating}`;
  button.dataset.rating = rating;
  button.setAttribute("aria-pressed", "false");
  button.dataset.i18nAttr = `aria-label:feedback.${rating};title:feedback.${rating}`;
  button.setAttribute("aria-label", t(`feedback.${rating}`));
  button.title = t(`feedback.${rating}`);
  const name = rating === "up" ? "thumbUp" : "thumbDown";
  const on = icon(`${name}On`, 16);
  on.classList.add("on");
  button.append(icon(name, 16), on);
  return button;
}

// The thumbs for one reply (an action of messages.js's row); `current()` is the open conversation's id.
export function rating(item, current) {
  const group = document.createElement("span");
  group.className = "rating";
  group.setAttribute("role", "group");
  group.dataset.i18nAttr = "aria-label:feedback.label";
  group.setAttribute("aria-label", t("feedback.label"));
  const up = thumb("up");
  const down = thumb("down");
  group.append(up, down);
  let chosen = null;

  const press = (value) => {
    chosen = value;
    up.setAttribute("aria-pressed", String(value === "up"));
    down.setAttribute("aria-pressed", String(value === "down"));
  };
  const conversationId = current();
  if (conversationId && item.dataset.id) {
    ratingsOf(conversationId).then((ratings) => {
      const row = ratings.get(Number(item.dataset.id));
      if (row && chosen === null) press(row.rating);
    });
  }
  // a regenerated reply is a new answer: its old rating went with the old text (the server drops it too)
  new MutationObserver(() => {
    if (item.dataset.state === "writing" && chosen) {
      press(null);
      closeBox(item);
      const id = Number(item.dataset.id);
      if (known.has(current())) known.get(current()).then((ratings) => ratings.delete(id));
    }
  }).observe(item, { attributes: true, attributeFilter: ["data-state"] });

  async function save(value, comment) {
    const id = current();
    const messageId = await idOf(item, id);
    const body = { conversationId: id, messageId, rating: value };
    if (comment) body.comment = comment;
    await request("POST", FEEDBACK, body);
    const ratings = await ratingsOf(id);
    if (value) ratings.set(messageId, { messageId, rating: value, comment: comment || "" });
    else ratings.delete(messageId);
  }

  for (const button of [up, down]) {
    button.addEventListener("click", async () => {
      const value = chosen === button.dataset.rating ? null : button.dataset.rating;
      const before = chosen;
      press(value);
      try {
        await save(value);
        if (value) openBox(item, value, (comment) => save(value, comment));
        else closeBox(item);
      } catch {
        press(before);
        openBox(item, null);
      }
    });
  }
  return group;
}

function closeBox(item, refocus = false) {
  item.querySelector(".feedback-box")?.remove();
  if (refocus) item.querySelector('.thumb[aria-pressed="true"]')?.focus();
}

// The small box under the reply: thanks, and an optional comment ("What could be better?" after a thumb down).
function openBox(item, value, send) {
  closeBox(item);
  const box = document.createElement("form");
  box.className = "feedback-box";
  box.noValidate = true;
  const id = `feedback-${item.dataset.id || "new"}-${Date.now()}`;
  const status = document.createElement("p");
  status.className = "feedback-status";
  status.setAttribute("role", "status");
  if (!value) {  // saving failed: say so, and nothing else
    say(status, "feedback.failed");
    box.append(status);
    item.querySelector(".content").append(box);
    return;
  }
  const label = document.createElement("label");
  label.htmlFor = id;
  say(label, value === "down" ? "feedback.whyDown" : "feedback.whyUp");
  const field = document.createElement("textarea");
  field.id = id;
  field.rows = 2;
  field.maxLength = COMMENT_MAX;
  field.dataset.i18nAttr = "placeholder:feedback.placeholder";
  field.placeholder = t("feedback.placeholder");
  const row = document.createElement("div");
  row.className = "feedback-row";
  const hint = document.createElement("p");
  hint.className = "feedback-hint";
  hint.id = `${id}-hint`;
  say(hint, "feedback.private");
  field.setAttribute("aria-describedby", hint.id);
  const close = document.createElement("button");
  close.type = "button";
  close.className = "secondary";
  say(close, "dialog.close");
  close.addEventListener("click", () => closeBox(item, true));
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "primary";
  say(submit, "feedback.send");
  row.append(close, submit);
  say(status, "feedback.thanks");
  box.append(status, label, field, hint, row);
  box.addEventListener("submit", async (event) => {
    event.preventDefault();
    const comment = field.value.trim();
    if (!comment) {
      field.focus();
      return;
    }
    submit.disabled = true;
    try {
      await send(comment);
      box.replaceChildren(status);
      say(status, "feedback.sent");
    } catch {
      say(status, "feedback.failed");
      submit.disabled = false;
    }
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeBox(item, true);
  });
  item.querySelector(".content").append(box);
  box.scrollIntoView({ block: "nearest" });
  field.focus({ preventScroll: true });
}
