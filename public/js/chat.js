// The "Chat intégré" tab: streamed replies, stop, errors in words, and the conversation list when history is on.
import { ApiError, events, request } from "./api.js";
import { describe, show } from "./errors.js";
import { t } from "./i18n.js";
import { render } from "./markdown.js";

const CHAT = "/api/groupchat/chat";
const CURRENT_KEY = "dashboard.conversationId";

export function setupChat(config) {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const stop = document.getElementById("chat-stop");
  const error = document.getElementById("chat-error");
  const notice = document.getElementById("chat-notice");
  const sidebar = document.getElementById("chat-sidebar");
  const list = document.getElementById("conversation-list");
  const systemPrompt = document.getElementById("system-prompt");
  document.getElementById("chat-settings").hidden = !config.clientSystemPrompt;
  sidebar.hidden = !config.history;
  notice.hidden = config.history;
  notice.dataset.i18n = "chat.historyOff";
  notice.textContent = t("chat.historyOff");

  let conversationId = config.history ? localStorage.getItem(CURRENT_KEY) : null;
  let controller = null;

  const remember = (id) => {
    conversationId = id;
    if (config.history && id) localStorage.setItem(CURRENT_KEY, id);
    else localStorage.removeItem(CURRENT_KEY);
  };

  const bubble = (role, text = "") => {
    log.querySelector(".empty")?.remove();
    const item = document.createElement("article");
    item.className = `bubble ${role}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = t(role === "user" ? "chat.you" : "chat.assistant");
    const body = document.createElement("div");
    body.className = "body";
    body.append(render(text));
    item.append(who, body);
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  };
  const note = (item, key) => {
    const line = document.createElement("span");
    line.className = "note";
    line.textContent = t(key);
    item.append(line);
  };
  const clearLog = () => {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.dataset.i18n = "chat.empty";
    empty.textContent = t("chat.empty");
    log.replaceChildren(empty);
  };
  const streaming = (on) => {
    send.hidden = on;
    stop.hidden = !on;
    input.setAttribute("aria-busy", on ? "true" : "false");
    if (!on) input.focus();
  };

  async function refreshList() {
    if (!config.history) return;
    try {
      const { conversations } = await request("GET", CHAT);
      list.replaceChildren(...conversations.map(listItem));
    } catch (failure) {
      if (failure instanceof ApiError) show(error, describe(failure));
    }
  }

  function listItem(conversation) {
    const item = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = conversation.title || "…";
    open.title = conversation.title;
    if (conversation.id === conversationId) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => openConversation(conversation.id));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove secondary";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", t("chat.delete", { title: conversation.title }));
    remove.addEventListener("click", () => deleteConversation(conversation.id));
    item.append(open, remove);
    return item;
  }

  async function openConversation(id) {
    show(error, "");
    try {
      const conversation = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      remember(conversation.conversationId);
      clearLog();
      for (const message of conversation.messages) {
        const item = bubble(message.role, message.content);
        if (message.status === "interrupted") note(item, "chat.stopped");
      }
    } catch (failure) {
      remember(null);
      clearLog();
      if (failure instanceof ApiError && failure.code !== "conversation_not_found") show(error, describe(failure));
    }
    await refreshList();
  }

  async function deleteConversation(id) {
    if (!window.confirm(t("chat.deleteConfirm"))) return;
    try {
      await request("DELETE", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      if (id === conversationId) {
        remember(null);
        clearLog();
      }
    } catch (failure) {
      show(error, describe(failure));
    }
    await refreshList();
  }

  async function sendMessage() {
    const text = input.value.trim();
    if (!text || controller) return;
    show(error, "");
    const mine = bubble("user", text);
    const reply = bubble("assistant");
    reply.setAttribute("aria-busy", "true");
    const body = reply.querySelector(".body");
    body.textContent = t("chat.thinking");
    input.value = "";
    controller = new AbortController();
    streaming(true);
    let answer = "";
    let closed = false;
    const payload = { message: text, stream: true };
    if (conversationId) payload.conversationId = conversationId;
    if (config.clientSystemPrompt && systemPrompt.value.trim()) payload.systemPrompt = systemPrompt.value.trim();
    try {
      for await (const event of events(CHAT, payload, controller.signal)) {
        if (event.type === "delta") {
          answer += event.text;
          body.replaceChildren(render(answer));
          log.scrollTop = log.scrollHeight;
        } else if (event.type === "done") {
          closed = true;
          body.replaceChildren(render(event.message));
          remember(event.conversationId);
          if (!event.saved && config.history) note(reply, "chat.notSaved");
        } else if (event.type === "error") {
          closed = true;
          throw new ApiError(502, event.error.code, event.error.message, event.error);
        }
      }
      if (!closed) throw new ApiError(0, "upstream_stream_interrupted", "stream ended early");
      await refreshList();
    } catch (failure) {
      if (failure.name === "AbortError") {
        if (!answer) body.replaceChildren();
        note(reply, "chat.stopped");
        setTimeout(refreshList, 300);
      } else {
        show(error, describe(failure));
        if (!input.value) input.value = text;  // nothing is lost: the message is back, ready to resend
        if (answer) {
          reply.classList.add("failed");
        } else {
          reply.remove();
          mine.remove();
        }
      }
    } finally {
      reply.removeAttribute("aria-busy");
      controller = null;
      streaming(false);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  stop.addEventListener("click", () => controller && controller.abort());
  document.getElementById("chat-new").addEventListener("click", () => {
    remember(null);
    clearLog();
    refreshList();
    input.focus();
  });

  return {
    async reload() {
      if (conversationId) await openConversation(conversationId);
      else await refreshList();
    },
    current: () => conversationId,
    open: (id) => openConversation(id),
  };
}
