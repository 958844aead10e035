// The conversation view, one component for a private chat and a room: streamed replies, stop, copy, regenerate,
// a question edited inline and the ‹ 1/2 › switch between versions (private chats only), every message with its
// author and time, auto-scroll that yields to the reader, errors in the page's words, a live countdown while
// rate-limited. In a room, new messages and replies still being written come by polling GET ?conversationId=&after=<id> (every 1.5 s while the tab is visible, 2 s once the room has been quiet for a
// minute, 1 s while a reply grows, 15 s hidden, and not at all once hidden for 10 minutes). A long conversation opens
// on its newest page; earlier messages come as the reader scrolls up (older.js).
import { ApiError, events, request } from "./api.js";
import { describe, show } from "./errors.js";
import { rating } from "./feedback.js";
import { language, locale, onLanguageChange, say, t } from "./i18n.js";
import { actionButton, messageElement, note, update, writingSign } from "./messages.js";
import { olderMessages } from "./older.js";
import { markSeen } from "./seen.js";

const CHAT = "/api/groupchat/chat";
const CURRENT_KEY = "dashboard.conversationId";
const NEAR_BOTTOM_PX = 48;
const POLL_MS = { visible: 1500, quiet: 2000, writing: 1000, hidden: 15000 };
const QUIET_AFTER = 40;  // empty polls in a row (a minute) before polling slows to POLL_MS.quiet
const HIDDEN_STOP_MS = 10 * 60 * 1000;  // a tab hidden this long stops polling until it is shown again
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
  let idle = 0;  // empty polls in a row
  let hiddenSince = null;
  let membersVersion = null;
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
  const touch = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
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
  const edit = (item) => actionButton("edit", "chat.edit", () => startEdit(item));

  // Show a message, or bring the one already shown with its id up to date; the element.
  function show_(message, before = log.querySelector(".message.pending")) {
    const known = message.id && log.querySelector(`.message[data-id="${message.id}"]`);
    if (known) {
      if (update(known, message)) follow();
      return known;
    }
    log.querySelector(".empty")?.remove();
    const mine = room || !config.history ? [] : [edit];
    const rate = (item) => rating(item, () => conversationId);
    const actions = message.role !== "assistant" ? mine
      : !config.history ? [copy] : room ? [copy, rate] : [copy, rate, again];
    const item = messageElement(message, { you: room && room.you, room: Boolean(room), actions,
      onVersion: room ? null : chooseVersion });
    log.insertBefore(item, before);  // what I am sending stays last
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
    let done = null;
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
          done = event;
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
      return done;
    } catch (failure) {
      if (failure.name === "AbortError") {
        if (reply && !answer) body.replaceChildren();
        if (reply) note(reply, "chat.stopped");
        setTimeout(onChange, 300);
        return "stopped";
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
    idle = 0;
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
    const done = await pending;
    if (done?.saved) await redraw(null, done);  // the earlier reply is kept: the switch under this one says so
    const replies_ = log.querySelectorAll(".message.assistant");
    const button = replies_[replies_.length - 1]?.querySelector(".regenerate");
    if (button && !button.hidden) button.focus();
  }

  // The stored conversation drawn again (versions and ids as stored), the reader's place kept.
  async function redraw(conversation = null, done = null) {
    const id = conversationId;
    const top = log.scrollTop;
    try {
      const read = conversation || await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      if (id !== conversationId || room) return;
      log.replaceChildren();
      lastId = 0;
      read.messages.forEach((message) => show_(message));
      oldest = read.messages.length ? read.messages[0].id : null;
      older.reset(read.hasOlder);
      restoreEmpty();
      const replies = log.querySelectorAll(".message.assistant");
      if (done?.finishReason === "time_limit" && replies.length) timeLimited(replies[replies.length - 1]);
      log.scrollTop = top;
      stick = atBottom();
      markLast();
    } catch (failure) {
      fail(failure);
    }
  }

  // ‹ ›: show another version of a message; focus stays on the arrow used (or the other one, at the end).
  async function chooseVersion(messageId, arrow) {
    if (controller || !conversationId || room) return;
    show(error, null);
    try {
      await redraw(await request("POST", CHAT, { conversationId, chooseVersion: messageId }));
    } catch (failure) {
      return fail(failure);
    }
    const shown = log.querySelector(`.message[data-id="${messageId}"]`);
    const button = shown?.querySelector(`.versions .${arrow}:not(:disabled)`) || shown?.querySelector(".versions button:not(:disabled)");
    button?.focus();
    onChange();
  }

  // The stored id of a message shown (one just sent has none yet: read from the stored conversation, in order).
  async function idOf(item) {
    if (!item.dataset.id && conversationId) {
      const read = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(conversationId)}`);
      const shown = [...log.querySelectorAll(".message")];
      const stored = read.messages;  // the newest page: matched to what is shown from the end
      if (shown.length === stored.length || (read.hasOlder && shown.length > stored.length)) {
        stored.forEach((message, index) => {
          shown[shown.length - stored.length + index].dataset.id = String(message.id);
        });
      }
    }
    return Number(item.dataset.id) || null;
  }

  // Edit a question in place (as ChatGPT does): Enter or Send asks it, Escape or Cancel gives it back unchanged.
  function startEdit(item, draft = null) {
    if (controller || room || !conversationId || item.querySelector(".editor")) return;
    const content = item.querySelector(".content");
    const body = content.querySelector(".body");
    const bar = item.querySelector(":scope > .actions");
    const editor = document.createElement("form");
    editor.className = "editor";
    const field = document.createElement("textarea");
    field.rows = 3;
    field.value = draft ?? item.dataset.raw;
    field.dataset.i18nAttr = "aria-label:chat.editLabel";
    field.setAttribute("aria-label", t("chat.editLabel"));
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary small";
    say(cancel, "chat.editCancel");
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "primary small";
    say(save, "chat.editSend");
    buttons.append(cancel, save);
    editor.append(field, buttons);
    const close = () => {
      editor.remove();
      body.hidden = false;
      if (bar) bar.hidden = false;
      item.classList.remove("editing");
    };
    cancel.addEventListener("click", () => {
      close();
      item.querySelector(".action.edit")?.focus();
    });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        cancel.click();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !touch) {
        event.preventDefault();
        editor.requestSubmit();
      }
    });
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = field.value.trim();
      if (!text) return field.focus();
      if (controller || blockedUntil) return;
      let editOf;
      try {
        editOf = await idOf(item);
      } catch (failure) {
        return fail(failure);
      }
      if (!editOf) return;
      close();
      sendEdit(item, editOf, text);
    });
    body.hidden = true;
    if (bar) bar.hidden = true;
    item.classList.add("editing");
    content.append(editor);
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }

  // The edited question asked in the old one's place; what followed it leaves the page (it is kept, as the
  // earlier version) and comes back if the turn fails.
  async function sendEdit(item, editOf, text) {
    show(error, null);
    stick = true;
    while (item.nextElementSibling) item.nextElementSibling.remove();
    update(item, { content: text, status: "complete" });
    item.querySelector(".versions")?.remove();
    const reply = show_({ role: "assistant", content: "", status: "writing" });
    const payload = { conversationId, editOf, message: text, stream: true };
    if (promptField && systemPrompt.value.trim()) payload.systemPrompt = systemPrompt.value.trim();
    const done = await stream(payload, reply, { onFailure: () => {} });
    if (done === "stopped" || (done && !done.saved)) return;
    await redraw(null, done);  // the stored conversation: the new version, or (failed) the old one as it was
    const again = !done && log.querySelector(`.message[data-id="${editOf}"]`);
    if (again) startEdit(again, text);  // nothing is lost: the edited words are back in the editor
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
    if (hiddenSince !== null && Date.now() - hiddenSince > HIDDEN_STOP_MS) return;  // resumed when shown again
    timer = setTimeout(poll, hiddenSince !== null ? POLL_MS.hidden : growing ? POLL_MS.writing
      : idle >= QUIET_AFTER ? POLL_MS.quiet : POLL_MS.visible);
  };

  async function poll() {
    clearTimeout(timer);
    const id = conversationId;
    if (!room || !id || controller) return;
    try {
      const news = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}&after=${cursor()}`);
      if (id !== conversationId || !room) return;
      idle = news.messages.length ? 0 : idle + 1;
      news.messages.forEach((message) => show_(message));
      const last = news.messages[news.messages.length - 1];
      if (last) {
        markSeen(id, last.createdAt);
        onChange();
      }
      const stranger = news.messages.some((message) => message.author && !roomUi.knows(message.author.userId));
      const version = news.room && news.room.membersVersion;
      if (stranger || (version && version !== membersVersion)) {
        membersVersion = version;
        await roomUi.refresh();
      }
      if (news.hasNewer) return poll();  // more than one page arrived: read on at once
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
    hiddenSince = document.visibilityState === "hidden" ? Date.now() : null;
    if (room && hiddenSince === null) {
      idle = 0;
      poll();
    }
  });

  // --- a long conversation's earlier messages, a page at a time as the reader scrolls up ---------------------
  let oldest = null;  // the id of the oldest message shown
  const older = olderMessages(log, async () => {
    const id = conversationId;
    const page = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}&before=${oldest}`);
    if (id !== conversationId) return false;
    const first = log.querySelector(".message");
    page.messages.forEach((message) => show_(message, first));
    if (page.messages.length) oldest = page.messages[0].id;
    markLast();
    return page.hasOlder;
  });

  // --- opening a conversation ---------------------------------------------------------------------------
  function enter(next) {
    clearTimeout(timer);
    room = next;
    idle = 0;
    membersVersion = next && next.membersVersion;
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
      conversation.messages.forEach((message) => show_(message));
      oldest = conversation.messages.length ? conversation.messages[0].id : null;
      older.reset(conversation.hasOlder);
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
