// The room: a conversation shared by invitation, with the assistant in it. New messages come by polling
// GET ?conversationId=&after=<last id> every 2 s while the room is open (15 s when the tab is hidden).
import { ApiError, events, request } from "./api.js";
import { describe, show } from "./errors.js";
import { t, translate, onLanguageChange } from "./i18n.js";
import { render } from "./markdown.js";

const CHAT = "/api/groupchat/chat";
const MEMBERS = "/api/groupchat/members";
const ROOM_KEY = "dashboard.roomId";
const VISIBLE_MS = 2000;
const HIDDEN_MS = 15000;
const MEMBERS_EVERY = 5;  // polls between two reads of the member list

const TEMPLATE = `
  <h2 id="room-heading" data-i18n="room.heading"></h2>
  <p class="hint" data-i18n="room.why"></p>
  <div class="chat-layout">
    <nav class="chat-sidebar" data-i18n-attr="aria-label:room.list">
      <form id="room-create" class="room-create">
        <label for="room-topic" data-i18n="room.topic"></label>
        <input id="room-topic" maxlength="200" autocomplete="off" required>
        <button type="submit" class="primary" data-i18n="room.create"></button>
      </form>
      <ul id="room-list" class="conversation-list"></ul>
    </nav>
    <div class="chat-main">
      <p id="room-status" class="form-message room-status" role="status" aria-live="polite"></p>
      <p id="room-error" class="banner error" role="alert" hidden></p>
      <div id="room-view" hidden>
        <h3 id="room-title" class="room-title"></h3>
        <div class="row" id="room-invite-row">
          <button type="button" id="room-invite" data-i18n="room.invite"></button>
          <label for="room-link" class="visually-hidden" data-i18n="room.link"></label>
          <input id="room-link" readonly hidden>
          <button type="button" id="room-copy" data-i18n="room.copy" hidden></button>
          <button type="button" id="room-revoke" class="secondary" data-i18n="room.revoke" hidden></button>
        </div>
        <h4 data-i18n="room.members"></h4>
        <ul id="room-members" class="room-members"></ul>
        <div id="room-log" class="chat-log" role="log" aria-live="polite" aria-relevant="additions"></div>
        <form id="room-form" class="chat-form">
          <label for="room-input" class="visually-hidden" data-i18n="chat.inputLabel"></label>
          <textarea id="room-input" rows="2" maxlength="8000" required data-i18n-attr="placeholder:room.placeholder"></textarea>
          <button type="submit" id="room-send" class="primary" data-i18n="chat.send"></button>
          <button type="button" id="room-ask" data-i18n="room.ask"></button>
        </form>
      </div>
    </div>
  </div>`;

export function setupRoom(root, config) {
  if (!root || !config.history) return { reload: async () => {} };
  root.innerHTML = TEMPLATE;  // a constant: no data goes through innerHTML
  translate(root);
  const $ = (id) => root.querySelector(`#${id}`);
  const view = $("room-view");
  const log = $("room-log");
  const input = $("room-input");
  const error = $("room-error");
  const status = $("room-status");
  const link = $("room-link");

  let roomId = localStorage.getItem(ROOM_KEY);
  let lastId = 0;
  let timer = null;
  let polls = 0;
  let you = null;
  let role = null;
  let invite = null;
  const names = new Map();

  const say = (key, values) => {
    status.textContent = key ? t(key, values) : "";
    status.dataset.key = key || "";
  };

  // --- messages ---------------------------------------------------------------------------------------
  const bubble = (message) => {
    const mine = message.author && message.author.userId === you;
    const item = document.createElement("article");
    item.className = `bubble ${message.role === "assistant" ? "assistant" : mine ? "user" : "other"}`;
    if (message.id) item.dataset.id = message.id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.role === "assistant" ? t("chat.assistant")
      : (message.author && message.author.name) || t("room.someone");
    const body = document.createElement("div");
    body.className = "body";
    body.append(render(message.content || ""));
    item.append(who, body);
    log.insertBefore(item, log.querySelector(".pending"));  // what is being written stays last
    log.scrollTop = log.scrollHeight;
    return item;
  };

  const append = (messages) => {
    let stranger = false;
    for (const message of messages) {
      if (message.id <= lastId) continue;
      bubble(message);
      lastId = message.id;
      const author = message.author && message.author.userId;
      if (author && !names.has(author)) stranger = true;
    }
    return stranger;
  };

  // --- polling ----------------------------------------------------------------------------------------
  const schedule = () => {
    clearTimeout(timer);
    if (!roomId) return;
    timer = setTimeout(poll, document.visibilityState === "hidden" ? HIDDEN_MS : VISIBLE_MS);
  };

  async function poll() {
    const id = roomId;
    if (!id) return;
    try {
      const room = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}&after=${lastId}`);
      if (id !== roomId) return;
      polls += 1;
      if (append(room.messages) || polls % MEMBERS_EVERY === 0) await loadMembers();
      schedule();
    } catch (failure) {
      if (id !== roomId) return;
      if (failure instanceof ApiError && failure.code === "conversation_not_found") return lost();
      show(error, describe(failure));
      schedule();  // a passing failure (network, store): try again at the next tick
    }
  }

  // Removed, left, or deleted: stop at once and say so; the log stays as it was, no longer updated.
  function lost() {
    clearTimeout(timer);
    roomId = null;
    localStorage.removeItem(ROOM_KEY);
    root.dataset.room = "lost";
    view.querySelectorAll("button, textarea").forEach((element) => { element.disabled = true; });
    say("room.lost");
    refreshList();
  }

  document.addEventListener("visibilitychange", () => {
    if (roomId && document.visibilityState === "visible") {
      clearTimeout(timer);
      poll();
    }
  });

  // --- the room -----------------------------------------------------------------------------------------
  async function loadMembers() {
    const list = await request("GET", `${MEMBERS}?conversationId=${encodeURIComponent(roomId)}`);
    you = list.you;
    role = (list.members.find((member) => member.userId === you) || {}).role || "member";
    names.clear();
    const items = list.members.map((member) => {
      names.set(member.userId, member.name);
      const item = document.createElement("li");
      item.dataset.userId = member.userId;
      const name = document.createElement("span");
      name.textContent = member.name || t("room.someone");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = t(member.role === "owner" ? "room.owner" : "room.member");
      item.append(name, badge);
      const leave = member.userId === you && member.role !== "owner";
      if (leave || (role === "owner" && member.role !== "owner")) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "secondary";
        remove.textContent = t(leave ? "room.leave" : "room.remove");
        remove.setAttribute("aria-label", leave ? t("room.leave") : t("room.removeWho", { name: member.name }));
        remove.addEventListener("click", () => removeMember(member.userId));
        item.append(remove);
      }
      return item;
    });
    $("room-members").replaceChildren(...items);
    $("room-invite-row").hidden = role !== "owner";
  }

  async function openRoom(id) {
    clearTimeout(timer);
    show(error, null);
    say("");
    roomId = id;
    lastId = 0;
    polls = 0;
    invite = null;
    link.hidden = $("room-copy").hidden = $("room-revoke").hidden = true;
    log.replaceChildren();
    view.querySelectorAll("button, textarea").forEach((element) => { element.disabled = false; });
    try {
      await loadMembers();
      const room = await request("GET", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      if (id !== roomId) return;
      $("room-title").textContent = room.title;
      localStorage.setItem(ROOM_KEY, id);
      view.hidden = false;
      root.dataset.room = "open";
      append(room.messages);
      schedule();
    } catch (failure) {
      roomId = null;
      localStorage.removeItem(ROOM_KEY);
      view.hidden = true;
      if (failure instanceof ApiError && failure.code === "conversation_not_found") say("room.lost");
      else show(error, describe(failure));
    }
    await refreshList();
  }

  async function refreshList() {
    try {
      const { conversations } = await request("GET", CHAT);
      const rooms = conversations.filter((conversation) => conversation.room);
      $("room-list").replaceChildren(...rooms.map((conversation) => {
        const item = document.createElement("li");
        const open = document.createElement("button");
        open.type = "button";
        open.className = "open";
        const people = conversation.room.members.map((member) => member.name).join(", ");
        open.textContent = conversation.title || "…";
        open.title = people;
        open.setAttribute("aria-label", t("room.openWho", { title: conversation.title, people }));
        if (conversation.id === roomId) open.setAttribute("aria-current", "true");
        open.addEventListener("click", () => openRoom(conversation.id));
        item.append(open);
        return item;
      }));
    } catch (failure) {
      if (failure instanceof ApiError && failure.status !== 401) show(error, describe(failure));
    }
  }

  async function removeMember(userId) {
    try {
      await request("DELETE", `${MEMBERS}?conversationId=${encodeURIComponent(roomId)}&userId=${encodeURIComponent(userId)}`);
      if (userId === you) return lost();
      await loadMembers();
    } catch (failure) {
      show(error, describe(failure));
    }
  }

  // --- writing --------------------------------------------------------------------------------------------
  // Messages go out one after the other, in the order they were written; none is dropped while one is sent.
  let queue = Promise.resolve();
  function sendMessage(askAssistant) {
    const text = input.value.trim();
    if (!text || !roomId) return;
    input.value = "";
    queue = queue.then(() => deliver(text, askAssistant));
  }

  async function deliver(text, askAssistant) {
    if (!roomId) return;
    show(error, null);
    const pending = bubble({ role: "user", content: text, author: { userId: you, name: names.get(you) } });
    pending.classList.add("pending");
    log.append(pending);
    let reply = null;
    try {
      const payload = { message: text, conversationId: roomId, stream: true };
      if (askAssistant) payload.askAssistant = true;
      let answer = "";
      for await (const event of events(CHAT, payload)) {
        if (event.type === "delta") {
          if (!reply) {
            reply = bubble({ role: "assistant", content: "" });
            reply.classList.add("pending");
            log.append(reply);
          }
          answer += event.text;
          reply.querySelector(".body").replaceChildren(render(answer));
        } else if (event.type === "error") {
          throw new ApiError(502, event.error.code, event.error.message, event.error);
        }
      }
      pending.remove();
      if (reply) reply.remove();
      clearTimeout(timer);
      await poll();  // the stored turn replaces what was shown while it was written
    } catch (failure) {
      pending.remove();
      if (reply) reply.remove();
      if (failure instanceof ApiError && failure.code === "conversation_not_found") return lost();
      if (!input.value) input.value = text;
      show(error, describe(failure));
    }
  }

  $("room-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage(false);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage(false);
    }
  });
  $("room-ask").addEventListener("click", () => sendMessage(true));

  // --- invitations ----------------------------------------------------------------------------------------
  $("room-invite").addEventListener("click", async () => {
    try {
      invite = await request("POST", MEMBERS, { conversationId: roomId });
      link.value = invite.url;
      link.hidden = $("room-copy").hidden = $("room-revoke").hidden = false;
      say("room.inviteReady", { date: new Date(invite.expiresAt).toLocaleDateString(document.documentElement.lang) });
    } catch (failure) {
      show(error, describe(failure));
    }
  });
  $("room-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(link.value);
      say("room.copied");
    } catch {
      link.select();
      say("group.copyFailed");
    }
  });
  $("room-revoke").addEventListener("click", async () => {
    if (!invite) return;
    try {
      await request("DELETE", `${MEMBERS}?invite=${encodeURIComponent(invite.invite)}`);
      invite = null;
      link.value = "";
      link.hidden = $("room-copy").hidden = $("room-revoke").hidden = true;
      say("room.revoked");
    } catch (failure) {
      show(error, describe(failure));
    }
  });

  $("room-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const topic = $("room-topic").value.trim();
    if (!topic) return;
    show(error, null);
    try {
      const first = await request("POST", CHAT, { message: topic });
      if (!first.conversationId || first.saved === false) throw new ApiError(503, "history_unavailable", "");
      invite = null;
      await request("POST", MEMBERS, { conversationId: first.conversationId });  // the room exists from here
      $("room-topic").value = "";
      await openRoom(first.conversationId);
    } catch (failure) {
      show(error, failure.code === "sign_in_required" ? { key: "room.signIn", values: {} } : describe(failure));
    }
  });

  // Joining through a link: ?invite=<token>, taken out of the address once used.
  async function joinFromLink() {
    const params = new URLSearchParams(location.search);
    const token = params.get("invite");
    if (!token) return false;
    const dialog = document.getElementById("group-dialog");  // the room lives in the group-room dialog
    if (dialog && !dialog.open) dialog.showModal();
    try {
      const joined = await request("POST", MEMBERS, { invite: token });
      params.delete("invite");
      history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}${location.hash}`);
      await openRoom(joined.conversationId);
      say("room.joined");
    } catch (failure) {
      if (failure.code === "invite_not_found") say("room.inviteDead");
      else if (failure.code === "sign_in_required" || failure.code === "unauthorized") say("room.signIn");
      else show(error, describe(failure));
    }
    return true;
  }

  onLanguageChange(() => translate(root));

  return {
    async reload() {
      if (await joinFromLink()) return;
      if (roomId) await openRoom(roomId);
      else await refreshList();
    },
  };
}
