// One message as the page shows it, in a private chat and in a room alike: who wrote it (you, another person with
// their initials, or the assistant), when, its Markdown, and a "writing" sign while a reply grows.
import { icon } from "./icons.js";
import { say, t, timeElement } from "./i18n.js";
import { render } from "./markdown.js";

// "Olivia Owner" → "OO", "bob" → "B"; the assistant is "IA"/"AI".
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => [...word][0] || "").join("").toUpperCase() || "?";
}

// One hue per person: in the open room, by their place among its members (so no two share one), else by their id.
const HUES = [220, 12, 150, 280, 35, 190, 330, 95, 250, 0, 170, 305];
const places = new Map();

export function setFaces(userIds) {
  places.clear();
  userIds.forEach((userId, index) => places.set(userId, index));
  document.querySelectorAll(".avatar[data-user-id]").forEach((face) => {
    face.style.setProperty("--hue", String(hue(face.dataset.userId)));  // faces drawn before the list came
  });
}

function hue(userId) {
  if (places.has(userId)) return HUES[places.get(userId) % HUES.length];
  let hash = 0;
  for (const char of String(userId || "")) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return HUES[hash % HUES.length];
}

export function avatar(person, assistant = false) {
  const face = document.createElement("span");
  face.className = assistant ? "avatar assistant" : "avatar";
  face.setAttribute("aria-hidden", "true");
  if (assistant) {
    face.dataset.i18n = "room.aiMark";
    face.textContent = t("room.aiMark");
  } else {
    face.textContent = initials(person.name);
    face.dataset.userId = person.userId || "";
    face.style.setProperty("--hue", String(hue(person.userId)));
  }
  return face;
}

// Whose a message is, from the reader's side: "mine", "other" (another person in a room) or "assistant".
export function sideOf(message, you) {
  if (message.role === "assistant") return "assistant";
  if (!message.author || !you || message.author.userId === you) return "mine";
  return "other";
}

// The <article> for a message; `room`: whether other people's names and faces are shown; `onVersion(id)`: show
// another version of it (its ‹ 1/2 › switch is drawn when it has some).
export function messageElement(message, { you = null, room = false, actions = [], onVersion = null } = {}) {
  const side = sideOf(message, you);
  const item = document.createElement("article");
  item.className = `message ${side === "mine" ? "user" : side}`;
  if (message.id) item.dataset.id = String(message.id);
  item.dataset.raw = message.content || "";
  const head = document.createElement("header");
  head.className = "meta";
  const who = document.createElement("span");
  who.className = "who";
  if (side === "assistant") {
    say(who, "chat.assistant");
    if (room) head.append(avatar(null, true));
  } else if (side === "mine") {
    say(who, "chat.you");
  } else {
    who.textContent = message.author.name || t("room.someone");
    head.append(avatar(message.author));
  }
  head.append(who, timeElement(message.createdAt || new Date().toISOString()));
  const content = document.createElement("div");
  content.className = "content";
  const body = document.createElement("div");
  body.className = "body";
  content.append(body);
  item.append(head, content);
  const versions = message.versions && onVersion ? [versionSwitch(message.versions, onVersion)] : [];
  if (actions.length || versions.length) {
    const bar = document.createElement("div");
    bar.className = "actions";
    bar.append(...versions, ...actions.map((make) => make(item)));
    (side === "mine" ? item : content).append(bar);  // under my question's bubble, not inside it
  }
  update(item, message);
  return item;
}

// Bring a shown message up to date with the stored one (a reply that grew, or finished).
export function update(item, message) {
  const text = message.content || "";
  const writing = message.status === "writing";
  const changed = item.dataset.raw !== text || item.dataset.state !== (writing ? "writing" : "done")
    || !item.querySelector(".body").hasChildNodes();
  if (!changed) return false;
  item.dataset.raw = text;
  item.dataset.state = writing ? "writing" : "done";
  const body = item.querySelector(".body");
  if (writing && !text) body.replaceChildren(writingSign());
  else if (writing) body.replaceChildren(render(text), writingSign(true));
  else body.replaceChildren(render(text));
  if (writing) item.setAttribute("aria-busy", "true");
  else item.removeAttribute("aria-busy");
  item.querySelectorAll(".note").forEach((line) => line.remove());
  if (message.status === "interrupted") note(item, "chat.stopped");
  return true;
}

// "L'assistant répond…" with three dots; `short`: the dots alone, after the words written so far.
export function writingSign(short = false) {
  const sign = document.createElement("p");
  sign.className = short ? "thinking dots-only" : "thinking";
  const dots = document.createElement("span");
  dots.className = "dots";
  dots.setAttribute("aria-hidden", "true");
  dots.append(document.createElement("i"), document.createElement("i"), document.createElement("i"));
  sign.append(dots);
  if (!short) {
    const words = document.createElement("span");
    say(words, "chat.thinking");
    sign.append(words);
  }
  return sign;
}

export function note(item, key) {
  const line = document.createElement("p");
  line.className = "note";
  say(line, key);
  const content = item.querySelector(".content");
  content.insertBefore(line, content.querySelector(":scope > .actions"));
}

// ‹ 2/3 ›: the version shown of a message with others; the arrows call `choose` with the one before or after.
export function versionSwitch({ index, count, ids }, choose) {
  const group = document.createElement("div");
  group.className = "versions";
  group.setAttribute("role", "group");
  const step = (name, key, arrow, to) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `action ${name}`;
    const mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = arrow;
    const words = document.createElement("span");
    words.className = "visually-hidden";
    say(words, key);
    button.append(mark, words);
    button.disabled = to < 1 || to > count;
    button.addEventListener("click", () => choose(ids[to - 1], name));
    return button;
  };
  const shown = document.createElement("span");
  shown.className = "version-count";
  const words = document.createElement("span");
  words.className = "visually-hidden";
  say(words, "chat.versionOf", { index, count });
  const figures = document.createElement("span");
  figures.setAttribute("aria-hidden", "true");
  figures.textContent = `${index}/${count}`;
  shown.append(words, figures);
  group.append(step("version-previous", "chat.versionPrevious", "‹", index - 1), shown,
    step("version-next", "chat.versionNext", "›", index + 1));
  return group;
}

// A small button under a message: an icon and its words.
export function actionButton(name, key, handler) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `action ${name}`;
  button.append(icon(name, 16));
  const text = document.createElement("span");
  say(text, key);
  button.append(text);
  button.addEventListener("click", () => handler(button, text));
  return button;
}
