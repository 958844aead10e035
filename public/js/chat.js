// The conversation view, one component for a private chat and a room: streamed replies, stop, copy and
// regenerate, every message with its author and time, auto-scroll that yields to the reader, errors in the page's
// words, a live countdown while rate-limited. In a room, new messages and replies still being written come by
// polling GET ?conversationId=&after=<id> (every 1.5 s while the tab is visible, 1 s while a reply grows, 15 s hidden).
import { ApiError, events, request } from "./api.js";
import { describe, show } from "./errors.js";
import { rating } from "./feedback.js";
import { language, locale, onLanguageChange, say, t } from "./i18n.js";
import { actionButton, messageElement, note, update, writingSign } from "./messages.js";
import { markSeen } from "./seen.js";

const CHAT = "/api/groupchat/chat";
const CURRENT_KEY = "dashboard.conversationId";
const NEAR_BOTTOM_PX = 48;
const POLL_MS = { visible: 1500, writing: 1000, hidden: 15000 };
const MEMBERS_EVERY = 5;  // polls between two reads of the member list
const MENTION = /(^|[^\w@])@(assistant|ia)(?!\w)/i;

export function setupChat(config) {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const ask = document.getElementById("chat-ask");
  const stop = document.getElementById("chat-stop");
  const error = document.getElementById("chat-error");
  const notice = document.getElementById("chat-notice");
  const jump = document.getElementById("jump-latest");
  const notice_ = document.getElementById("room-notice");
  const hint = document.getElementById("composer-hint");
  const systemPrompt = document.getElementById("system-prompt");
  const promptField = config.clientSystemPrompt && config.showSystemPrompt;
  document.getElementById("chat-settings").hidden = !promptField;
  notice.hidden = config.history;
  if (!config.history) say(notice, "chat.historyOff");

  let conversationId = config.history ? localStorage.getItem(CURRENT_KEY) : null;
  let room = null;  // the open room: {role, assistantReplies, you, title}; null in a private chat
  let roomUi = { show: async () => null, hide() {}, refresh: async () => null, knows: () => true };
  let lastId = 0;  // the newest stored message shown
  let timer = null;
  let polls = 0;
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

  // --- the empty conversation: suggestions in a private chat, what to do first in a room ------------------
  const emptyState = () => {
    const empty = document.createElement("div");
    empty.className = "empty";
    const title = document.createElement("h3");
    const text = document.createElement("p");
    empty.append(title, text);
    if (room) {
      say(title, "room.emptyTitle", { title: room.title });
      say(text, room.role === "owner" ? "room.emptyOwner" : "room.empty");
      if (room.role === "owner") {
        const invite = document.createElement("button");
        invite.type = "button";
        invite.className = "primary";
        say(invite, "room.invite");
        invite.addEventListener("click", () => roomUi.invite());
        empty.append(invite);
      }
      return empty;
    }
    say(title, "chat.emptyTitle");
    const welcome = config.welcome || {};
    const lang = language();
    const subtitle = welcome.subtitle && welcome.subtitle[lang];
    if (subtitle) text.textContent = subtitle;  // the firm's own words (a setting), else the page's safe default
    else say(text, "chat.empty");
    const examples = (welcome.examples && welcome.examples[lang]) || [];
    const ideas = document.createElement("ul");
    ideas.className = "suggestions";
    ideas.dataset.i18nAttr = "aria-label:chat.suggestions";
    ideas.setAttribute("aria-label", t("chat.suggestions"));
    const questions = examples.length ? examples : ["chat.suggest1", "chat.suggest2", "chat.suggest3"];
    for (const question of questions) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      if (examples.length) button.textContent = question;
      else say(button, question);
      button.addEventListener("click", () => {
        input.value = button.textContent;
        sendMessage();
      });
      item.append(button);
      ideas.append(item);
    }
    empty.append(ideas);
    return empty;
  };
  const clearLog = () => {
    log.replaceChildren(emptyState());
    lastId = 0;
    stick = true;
    jump.hidden = true;
  };
  const restoreEmpty = () => {
    if (!log.querySelector(".message")) clearLog();
  };

  // --- messages -------------------------------------------------------------------------------------------
  const copy = (item) => actionButton("copy", "chat.copy", async (button, text) => {
    try {
      await navigator.clipboard.writeText(item.dataset.raw);
      say(text, "chat.copied");
    } catch {
      say(text, "chat.copyFailed");
    }
    button.dataset.done = "true";
  });
  const again = () => actionButton("regenerate", "chat.regenerate", () => regenerate());

  // Show a message, or bring the one already shown with its id up to date; the element.
  function show_(message) {
    const known = message.id && log.querySelector(`.message[data-id="${message.id}"]`);
    if (known) {
      if (update(known, message)) follow();
      return known;
    }
    log.querySelector(".empty")?.remove();
    const rate = (item) => rating(item, () => conversationId);
    const actions = message.role !== "assistant" ? [] : !config.history ? [copy] : room ? [copy, rate] : [copy, rate, again];
    const item = messageElement(message, { you: room && room.you, room: Boolean(room), actions });
    log.insertBefore(item, log.querySelector(".message.pending"));  // what I am sending stays last
    if (message.id) lastId = Math.max(lastId, message.id);
    follow();
    return item;
  }

  // Only the last reply of a private chat can be regenerated, and not while another one is on its way.
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
    if (!on && !input.disabled) input.focus();
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
        send.disabled = ask.disabled = false;
        show(error, null);
        return;
      }
      send.disabled = ask.disabled = true;
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

  // --- one request, its reply streamed into `reply` (null: a room message nobody asked the assistant about) ---
  async function stream(payload, reply, { onFailure }) {
    const body = reply && reply.querySelector(".body");
    if (reply) {
      reply.setAttribute("aria-busy", "true");
      reply.dataset.state = "writing";
      body.replaceChildren(writingSign());
    }
    controller = new AbortController();
    streaming(true);
    let answer = "";
    let closed = false;
    try {
      for await (const event of events(CHAT, payload, controller.signal)) {
        if (event.type === "delta") {
          answer += event.text;
          if (reply) update(reply, { content: answer, status: "writing" });
          follow();
        } else if (event.type === "status") {  // the model is reasoning: "Réflexion…" until its first words
          const words = reply && !answer && reply.querySelector(".thinking > span:not(.dots)");
          if (words) say(words, "chat.reasoning");
        } else if (event.type === "done") {
          closed = true;
          if (reply && typeof event.message === "string") update(reply, { content: event.message, status: "done" });
          if (reply && event.finishReason === "time_limit") timeLimited(reply);
          remember(event.conversationId || conversationId);
          if (reply && event.saved === false && config.history) note(reply, "chat.notSaved");
        } else if (event.type === "error") {
          closed = true;
          throw new ApiError(502, event.error.code, "", event.error);
        }
      }
      if (!closed) throw new ApiError(0, "upstream_stream_interrupted", "");
      onChange();
      return true;
    } catch (failure) {
      if (failure.name === "AbortError") {
        if (reply && !answer) body.replaceChildren();
        if (reply) note(reply, "chat.stopped");
        setTimeout(onChange, 300);
        return true;
      }
      if (failure instanceof ApiError && failure.code === "conversation_not_found" && room) {
        lost();
        return false;
      }
      fail(failure);
      onFailure(answer);
      return false;
    } finally {
      if (reply) {
        reply.removeAttribute("aria-busy");
        if (reply.dataset.state === "writing") reply.dataset.state = "done";
        reply.querySelector(".thinking")?.remove();
      }
      controller = null;
      streaming(false);
      markLast();
      follow();
    }
  }

  // A reply cut at the server's time limit: say so, and offer to go on as a new turn.
  function timeLimited(reply) {
    note(reply, "chat.timeLimit");
    const more = actionButton("regenerate", "chat.continue", (button) => {
      button.remove();
      input.value = t("chat.continuePrompt");
      sendMessage();
    });
    reply.querySelector(".content").insertBefore(more, reply.querySelector(".actions"));
  }

  const wantsReply = (text, askAssistant) =>
    askAssistant || !room || room.assistantReplies === "all" || MENTION.test(text);

  async function sendMessage(askAssistant = false) {
    const text = input.value.trim();
    if (!text && !input.disabled) input.focus();  // an empty Send: nothing to send, the field is there to write in
    if (!text || controller || blockedUntil || input.disabled) return;
    show(error, null);
    stick = true;
    clearTimeout(timer);  // in a room, what I send and its reply are shown from my own stream meanwhile
    const now = new Date().toISOString();
    const mine = show_({ role: "user", content: text, createdAt: now, author: room && { userId: room.you } });
    const reply = wantsReply(text, askAssistant) ? show_({ role: "assistant", content: "", status: "writing" }) : null;
    if (room) [mine, reply].forEach((item) => item && item.classList.add("pending"));
    input.value = "";
    resize();
    const payload = { message: text, stream: true };
    if (conversationId) payload.conversationId = conversationId;
    if (room && askAssistant) payload.askAssistant = true;
    if (promptField && systemPrompt.value.trim()) payload.systemPrompt = systemPrompt.value.trim();
    const sentTo = conversationId;
    const delivered = await stream(payload, reply, {
      onFailure: (answer) => {
        if (!input.value) input.value = text;  // nothing is lost: the message is back, ready to send again
        resize();
        if (answer && !room) {
          reply.classList.add("failed");
        } else {
          reply?.remove();
          mine.remove();
          restoreEmpty();
        }
      },
    });
    if (room && sentTo === conversationId) {
      if (delivered) log.querySelectorAll(".message.pending").forEach((item) => item.remove());  // stored ones follow
      poll();
    }
  }

  // Ask the last question again; the new reply takes the old one's place, in the page and in the history.
  async function regenerate() {
    if (controller || blockedUntil || !conversationId || room) return;
    const replies = log.querySelectorAll(".message.assistant");
    const last = replies[replies.length - 1];
    if (!last) return;
    show(error, null);
    const before = { raw: last.dataset.raw, body: [...last.querySelector(".body").childNodes] };
    last.querySelectorAll(".note").forEach((line) => line.remove());
    last.classList.remove("failed");
    const pending = stream({ conversationId, regenerate: true, stream: true }, last, {
      onFailure: (answer) => {
        if (!answer) {
          last.querySelector(".body").replaceChildren(...before.body);
          last.dataset.raw = before.raw;
        } else {
          last.classList.add("failed");
        }
      },
    });
    stop.focus();  // the reply's own buttons are hidden while it is written again: focus waits on Stop
    await pending;
    const button = last.querySelector(".regenerate");
    if (button && !button.hidden && last.isConnected) button.focus();
  }

  // --- a room: polling, and losing access ------------------------------------------------------------------
  const cursor = () => {
    const writing = [...log.querySelectorAll('.message[data-state="writing"][data-id]')].map((item) => Number(item.dataset.id));
    return writing.length ? Math.min(...writing) - 1 : lastId;
  };
  const schedule = () => {
    clearTimeout(timer);
    if (!room || controller) return;
    const growing = log.querySelector('.message[data-state="writing"][data-id]');
    timer = setTimeout(poll, document.visibilityState === "hidden" ? POLL_MS.hidden
      : growing ? POLL_MS.writing : POLL_MS.visible);
  };

  async function poll() {
    clearTimeout(timer);
    const id = conversationId;
    if (!room || !id || controller) return;
    try {
      const news = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}&after=${cursor()}`);
      if (id !== conversationId || !room) return;
      polls += 1;
      news.messages.forEach(show_);
      const last = news.messages[news.messages.length - 1];
      if (last) {
        markSeen(id, last.createdAt);
        onChange();
      }
      const stranger = news.messages.some((message) => message.author && !roomUi.knows(message.author.userId));
      if (stranger || polls % MEMBERS_EVERY === 0) await roomUi.refresh();
      schedule();
    } catch (failure) {
      if (id !== conversationId) return;
      if (failure instanceof ApiError && failure.code === "conversation_not_found") return lost();
      show(error, describe(failure));
      schedule();  // a passing failure (network, store): try again at the next tick
    }
  }

  // Removed, left, or deleted: stop at once and say so; what was shown stays, no longer updated.
  function lost() {
    clearTimeout(timer);
    room = null;
    remember(null);
    document.body.dataset.room = "lost";
    composer(false);
    form.hidden = hint.hidden = true;  // nothing can be sent here any more: the notice takes the composer's place
    roomUi.hide(true);
    say(notice_, "room.lost");
    notice_.hidden = false;
    onChange();
  }

  const composer = (on) => {
    for (const element of [input, send, ask]) element.disabled = !on || (element !== input && Boolean(blockedUntil));
  };

  document.addEventListener("visibilitychange", () => {
    if (room && document.visibilityState === "visible") poll();
  });

  // --- opening a conversation ---------------------------------------------------------------------------
  function enter(next) {
    clearTimeout(timer);
    room = next;
    polls = 0;
    document.body.dataset.room = next ? "open" : "none";
    notice_.hidden = true;
    form.hidden = hint.hidden = false;
    ask.hidden = !next;
    input.placeholder = t(next ? "room.placeholder" : "chat.placeholder");
    input.dataset.i18nAttr = `placeholder:${next ? "room.placeholder" : "chat.placeholder"}`;
    say(hint, next ? "room.hint" : "chat.hint");
    composer(true);
  }

  async function open(id) {
    if (controller) controller.abort();
    show(error, null);
    try {
      const conversation = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      remember(conversation.conversationId);
      let next = null;
      if (conversation.room) {
        next = { ...conversation.room, title: conversation.title, you: null };
        const members = await roomUi.show(conversation.conversationId, conversation.title);
        if (id !== conversationId) return;
        next.you = members.you;
        next.role = members.role || next.role;
      } else {
        roomUi.hide();
      }
      enter(next);
      clearLog();
      conversation.messages.forEach(show_);
      markSeen(conversation.conversationId, conversation.updatedAt);
      stick = true;
      follow();
      schedule();
    } catch (failure) {
      enter(null);
      roomUi.hide();
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
    sendMessage(false);
  });
  ask.addEventListener("click", () => sendMessage(true));
  const touch = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !touch) {
      event.preventDefault();
      sendMessage(false);
    }
  });
  stop.addEventListener("click", async () => {
    if (!controller) return;
    if (room && conversationId) {  // in a room the reply goes on without me unless the server is told to stop
      request("POST", CHAT, { conversationId, stop: true }).catch(() => {});
    }
    controller.abort();
  });
  enter(null);
  clearLog();
  window.addEventListener("beforeprint", () => {  // a printed record says when it was printed
    say(document.getElementById("print-date"), "chat.printed", { date: new Date().toLocaleString(locale()) });
  });
  onLanguageChange(() => {  // the firm's welcome words are per language, not page strings: draw them again
    if (log.querySelector(".empty") && !room) log.replaceChildren(emptyState());
  });

  return {
    current: () => conversationId,
    inRoom: () => Boolean(room),
    open,
    useRoom(ui) {
      roomUi = ui;
    },
    reset() {
      if (controller) controller.abort();
      remember(null);
      roomUi.hide();
      enter(null);
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
