// The chat: streamed replies, stop, copy and regenerate, timestamps, auto-scroll that yields to the reader, errors in
// the page's words, and a live countdown while rate-limited.
import { ApiError, events, request } from "./api.js";
import { describe, show } from "./errors.js";
import { icon } from "./icons.js";
import { say, t, timeElement } from "./i18n.js";
import { render } from "./markdown.js";

const CHAT = "/api/groupchat/chat";
const CURRENT_KEY = "dashboard.conversationId";
const NEAR_BOTTOM_PX = 48;
export function setupChat(config) {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const stop = document.getElementById("chat-stop");
  const error = document.getElementById("chat-error");
  const notice = document.getElementById("chat-notice");
  const jump = document.getElementById("jump-latest");
  const systemPrompt = document.getElementById("system-prompt");
  const promptField = config.clientSystemPrompt && config.showSystemPrompt;
  document.getElementById("chat-settings").hidden = !promptField;
  notice.hidden = config.history;
  if (!config.history) say(notice, "chat.historyOff");

  let conversationId = config.history ? localStorage.getItem(CURRENT_KEY) : null;
  let controller = null;
  let blockedUntil = 0;
  let countdown = null;
  let stick = true;  // follow new text while the reader is at the bottom
  let onChange = () => {};

  const remember = (id) => {
    conversationId = id;
    if (config.history && id) localStorage.setItem(CURRENT_KEY, id);
    else localStorage.removeItem(CURRENT_KEY);
  };

  // --- scrolling: follow the reply only while the reader stays at the bottom --------------------------------
  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_BOTTOM_PX;
  const follow = () => {
    if (stick) log.scrollTop = log.scrollHeight;
    jump.hidden = stick || atBottom();
  };
  log.addEventListener("scroll", () => {
    stick = atBottom();
    jump.hidden = stick;
  }, { passive: true });
  jump.addEventListener("click", () => {
    stick = true;
    follow();
    input.focus();
  });

  // --- messages -------------------------------------------------------------------------------------------
  const emptyState = () => {
    const empty = document.createElement("div");
    empty.className = "empty";
    const title = document.createElement("h3");
    say(title, "chat.emptyTitle");
    const text = document.createElement("p");
    say(text, "chat.empty");
    const ideas = document.createElement("ul");
    ideas.className = "suggestions";
    ideas.dataset.i18nAttr = "aria-label:chat.suggestions";
    ideas.setAttribute("aria-label", t("chat.suggestions"));
    for (const key of ["chat.suggest1", "chat.suggest2", "chat.suggest3"]) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      say(button, key);
      button.addEventListener("click", () => {
        input.value = button.textContent;
        sendMessage();
      });
      item.append(button);
      ideas.append(item);
    }
    empty.append(title, text, ideas);
    return empty;
  };
  const clearLog = () => {
    log.replaceChildren(emptyState());
    stick = true;
    jump.hidden = true;
  };
  const restoreEmpty = () => {
    if (!log.querySelector(".message")) clearLog();
  };

  const note = (item, key) => {
    const line = document.createElement("p");
    line.className = "note";
    say(line, key);
    item.querySelector(".content").append(line);
  };

  const action = (name, key, handler) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `action ${name}`;
    button.append(icon(name, 16));
    const text = document.createElement("span");
    say(text, key);
    button.append(text);
    button.addEventListener("click", () => handler(button, text));
    return button;
  };

  function message(role, text = "", createdAt = new Date().toISOString()) {
    log.querySelector(".empty")?.remove();
    const item = document.createElement("article");
    item.className = `message ${role}`;
    item.dataset.raw = text;
    const head = document.createElement("header");
    head.className = "meta";
    const who = document.createElement("span");
    who.className = "who";
    say(who, role === "user" ? "chat.you" : "chat.assistant");
    head.append(who, timeElement(createdAt));
    const content = document.createElement("div");
    content.className = "content";
    const body = document.createElement("div");
    body.className = "body";
    body.append(render(text));
    content.append(body);
    item.append(head, content);
    if (role === "assistant") {
      const actions = document.createElement("div");
      actions.className = "actions";
      actions.append(action("copy", "chat.copy", copy(item)));
      if (config.history) actions.append(action("regenerate", "chat.regenerate", () => regenerate()));
      content.append(actions);
    }
    log.append(item);
    follow();
    return item;
  }

  const copy = (item) => async (button, text) => {
    try {
      await navigator.clipboard.writeText(item.dataset.raw);
      say(text, "chat.copied");
    } catch {
      say(text, "chat.copyFailed");
    }
    button.dataset.done = "true";
  };

  // Only the last reply can be regenerated, and not while another one is on its way.
  const markLast = () => {
    const replies = log.querySelectorAll(".message.assistant");
    replies.forEach((reply, index) => {
      const button = reply.querySelector(".regenerate");
      if (button) button.hidden = !(index === replies.length - 1 && conversationId);
    });
  };

  const streaming = (on) => {
    send.hidden = on;
    stop.hidden = !on;
    log.setAttribute("aria-busy", String(on));
    document.body.dataset.streaming = String(on);
    if (!on) input.focus();
  };

  // --- rate limits: a live countdown, Send disabled until it ends -------------------------------------------
  function blockFor(seconds, described) {
    blockedUntil = Date.now() + seconds * 1000;
    clearInterval(countdown);
    const tick = () => {
      const left = Math.ceil((blockedUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(countdown);
        blockedUntil = 0;
        send.disabled = false;
        show(error, null);
        return;
      }
      send.disabled = true;
      show(error, { key: described.key, values: { ...described.values, seconds: left } });
    };
    tick();
    countdown = setInterval(tick, 1000);
  }

  function fail(failure) {
    const described = describe(failure);
    if (failure.code === "rate_limited" && failure.retryAfter && failure.retryAfter <= 3600) {
      blockFor(failure.retryAfter, described);
    } else {
      show(error, described);
    }
  }

  // --- one reply, streamed into `reply` ---------------------------------------------------------------------
  async function stream(payload, reply, { onFailure }) {
    const body = reply.querySelector(".body");
    reply.setAttribute("aria-busy", "true");
    reply.dataset.state = "writing";
    const thinking = document.createElement("p");
    thinking.className = "thinking";
    say(thinking, "chat.thinking");
    body.replaceChildren(thinking);
    controller = new AbortController();
    streaming(true);
    let answer = "";
    let closed = false;
    try {
      for await (const event of events(CHAT, payload, controller.signal)) {
        if (event.type === "delta") {
          answer += event.text;
          body.replaceChildren(render(answer));
          reply.dataset.raw = answer;
          follow();
        } else if (event.type === "done") {
          closed = true;
          body.replaceChildren(render(event.message));
          reply.dataset.raw = event.message;
          remember(event.conversationId);
          if (!event.saved && config.history) note(reply, "chat.notSaved");
        } else if (event.type === "error") {
          closed = true;
          throw new ApiError(502, event.error.code, "", event.error);
        }
      }
      if (!closed) throw new ApiError(0, "upstream_stream_interrupted", "");
      onChange();
    } catch (failure) {
      if (failure.name === "AbortError") {
        if (!answer) body.replaceChildren();
        note(reply, "chat.stopped");
        setTimeout(onChange, 300);
      } else {
        fail(failure);
        onFailure(answer);
      }
    } finally {
      reply.removeAttribute("aria-busy");
      reply.dataset.state = "done";
      controller = null;
      streaming(false);
      markLast();
      follow();
    }
  }

  async function sendMessage() {
    const text = input.value.trim();
    if (!text || controller || blockedUntil) return;
    show(error, null);
    stick = true;
    const mine = message("user", text);
    const reply = message("assistant");
    input.value = "";
    resize();
    const payload = { message: text, stream: true };
    if (conversationId) payload.conversationId = conversationId;
    if (promptField && systemPrompt.value.trim()) payload.systemPrompt = systemPrompt.value.trim();
    await stream(payload, reply, {
      onFailure: (answer) => {
        if (!input.value) input.value = text;  // nothing is lost: the message is back, ready to send again
        resize();
        if (answer) {
          reply.classList.add("failed");
        } else {
          reply.remove();
          mine.remove();
          restoreEmpty();
        }
      },
    });
  }

  // Ask the last question again; the new reply takes the old one's place, in the page and in the history.
  async function regenerate() {
    if (controller || blockedUntil || !conversationId) return;
    const replies = log.querySelectorAll(".message.assistant");
    const last = replies[replies.length - 1];
    if (!last) return;
    show(error, null);
    const before = { raw: last.dataset.raw, body: [...last.querySelector(".body").childNodes] };
    last.querySelectorAll(".note").forEach((line) => line.remove());
    last.classList.remove("failed");
    await stream({ conversationId, regenerate: true, stream: true }, last, {
      onFailure: (answer) => {
        if (!answer) {
          last.querySelector(".body").replaceChildren(...before.body);
          last.dataset.raw = before.raw;
        } else {
          last.classList.add("failed");
        }
      },
    });
  }

  async function open(id) {
    show(error, null);
    try {
      const conversation = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      remember(conversation.conversationId);
      clearLog();
      for (const item of conversation.messages) {
        const shown = message(item.role, item.content, item.createdAt);
        if (item.status === "interrupted") note(shown, "chat.stopped");
      }
      stick = true;
      follow();
    } catch (failure) {
      clearLog();
      if (failure instanceof ApiError && failure.code === "unauthorized") return;  // not signed in yet: say nothing
      remember(null);
      if (failure instanceof ApiError && failure.code !== "conversation_not_found") fail(failure);
    }
    markLast();
    onChange();
  }

  const resize = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  };
  input.addEventListener("input", resize);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  const touch = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !touch) {
      event.preventDefault();
      sendMessage();
    }
  });
  stop.addEventListener("click", () => controller && controller.abort());
  clearLog();

  return {
    current: () => conversationId,
    open,
    reset() {
      remember(null);
      clearLog();
      if (!blockedUntil) show(error, null);
    },
    onChange(listener) {
      onChange = listener;
    },
    async reload() {
      if (conversationId) await open(conversationId);
      else onChange();
    },
  };
}
