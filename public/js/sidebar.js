// The conversation list beside the chat (a drawer on phones): dates, search, rename and delete.
import { ApiError, request } from "./api.js";
import { askTitle, confirmDelete } from "./dialogs.js";
import { describe, show } from "./errors.js";
import { onLanguageChange, say, t, timeElement } from "./i18n.js";

const CHAT = "/api/groupchat/chat";
const ICONS = {
  rename: "M4 17.3V20h2.7l8-8-2.7-2.7-8 8zM19.7 7a1 1 0 0 0 0-1.4l-1.3-1.3a1 1 0 0 0-1.4 0l-1.1 1.1 2.7 2.7L19.7 7z",
  delete: "M7 21a2 2 0 0 1-2-2V7H4V5h5V4h6v1h5v2h-1v12a2 2 0 0 1-2 2H7zm2-4h2V9H9v8zm4 0h2V9h-2v8z",
};

export function icon(name, size = 18) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export function setupSidebar(config, chat) {
  const sidebar = document.getElementById("chat-sidebar");
  const list = document.getElementById("conversation-list");
  const status = document.getElementById("list-status");
  const search = document.getElementById("search-input");
  const drawerButton = document.getElementById("drawer-button");
  const backdrop = document.getElementById("drawer-backdrop");
  const error = document.getElementById("chat-error");
  sidebar.hidden = !config.history;
  drawerButton.hidden = !config.history;
  let sequence = 0;
  let timer = null;

  const phone = () => window.matchMedia("(max-width: 800px)").matches;
  const drawer = (open) => {
    document.body.dataset.drawer = open ? "open" : "closed";
    drawerButton.setAttribute("aria-expanded", String(open));
    backdrop.hidden = !open;
    if (open) search.focus();
  };
  drawerButton.addEventListener("click", () => drawer(document.body.dataset.drawer !== "open"));
  backdrop.addEventListener("click", () => drawer(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.dataset.drawer === "open") {
      drawer(false);
      drawerButton.focus();
    }
  });

  function item(conversation, query) {
    const title = conversation.title || t("chat.untitled");
    const li = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    if (conversation.id === chat.current()) open.setAttribute("aria-current", "page");
    const name = document.createElement("span");
    name.className = "title";
    name.textContent = title;
    open.append(name, timeElement(conversation.updatedAt, "list"));
    if (query && conversation.snippet) {
      const snippet = document.createElement("span");
      snippet.className = "snippet";
      snippet.textContent = conversation.snippet;
      open.append(snippet);
    }
    open.addEventListener("click", async () => {
      await chat.open(conversation.id);
      if (phone()) drawer(false);
    });
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "icon-button small";
    rename.setAttribute("aria-label", t("chat.rename", { title }));
    rename.title = t("chat.rename", { title });
    rename.append(icon("rename"));
    rename.addEventListener("click", () => renameConversation(conversation.id, title));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "icon-button small";
    remove.setAttribute("aria-label", t("chat.delete", { title }));
    remove.title = t("chat.delete", { title });
    remove.append(icon("delete"));
    remove.addEventListener("click", () => deleteConversation(conversation.id, title));
    li.append(open, rename, remove);
    return li;
  }

  async function refresh() {
    if (!config.history) return;
    const query = search.value.trim();
    const mine = ++sequence;
    try {
      const path = query ? `${CHAT}?q=${encodeURIComponent(query)}` : CHAT;
      const { conversations } = await request("GET", path);
      if (mine !== sequence) return;
      list.replaceChildren(...conversations.map((conversation) => item(conversation, query)));
      if (query && !conversations.length) say(status, "search.none", { query });
      else if (!query && !conversations.length) say(status, "chat.noConversations");
      else say(status, null);
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "unauthorized") list.replaceChildren();  // not signed in yet
      else if (mine === sequence && failure instanceof ApiError) show(error, describe(failure));
    }
  }

  async function renameConversation(id, title) {
    const next = await askTitle(title);
    if (!next || next === title) return;
    try {
      await request("PATCH", `${CHAT}?conversationId=${encodeURIComponent(id)}`, { title: next });
    } catch (failure) {
      show(error, describe(failure));
    }
    await refresh();
  }

  async function deleteConversation(id, title) {
    if (!(await confirmDelete(title))) return;
    try {
      await request("DELETE", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      if (id === chat.current()) chat.reset();
    } catch (failure) {
      show(error, describe(failure));
    }
    await refresh();
    (list.querySelector("button.open") || document.getElementById("chat-new")).focus();
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    refresh();
  });
  for (const id of ["chat-new", "chat-new-top"]) {
    document.getElementById(id).addEventListener("click", () => {
      chat.reset();
      if (phone()) drawer(false);
      refresh();
      document.getElementById("chat-input").focus();
    });
  }
  onLanguageChange(refresh);
  drawer(false);
  return { refresh };
}
