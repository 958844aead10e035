// The conversation list beside the chat (a drawer on phones): private chats and rooms together (a room with its
// group mark, member count and an unread mark), dates, search, rename and delete. The list comes a page at a
// time: the next page loads as the list's end scrolls into view, or from its "Load more" button.
import { ApiError, request } from "./api.js";
import { askTitle, confirmDelete, inClosedDrawer } from "./dialogs.js";
import { describe, show } from "./errors.js";
import { icon } from "./icons.js";
import { locale, onLanguageChange, say, t, timeElement } from "./i18n.js";
import { isUnread, markSeen } from "./seen.js";

const CHAT = "/api/groupchat/chat";
const ROOMS_EVERY_MS = 30000;  // while rooms are listed and the tab is visible: news from the rooms not open
const SEARCH_PAUSE_MS = 400;  // a search once typing pauses, not at every letter
const SEARCH_MIN_CHARS = 2;  // one letter matches nearly everything: typing waits for a second (Enter does not)
const GROUP = "M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0c-.3 0-.6 0-1 .1 1.2.8 2 2 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z";
export function setupSidebar(config, chat) {
  const sidebar = document.getElementById("chat-sidebar");
  const list = document.getElementById("conversation-list");
  const status = document.getElementById("list-status");
  const search = document.getElementById("search-input");
  const drawerButton = document.getElementById("drawer-button");
  const backdrop = document.getElementById("drawer-backdrop");
  const error = document.getElementById("chat-error");
  sidebar.hidden = !config.history;
  document.body.dataset.history = config.history ? "on" : "off";
  drawerButton.hidden = !config.history;
  let sequence = 0;
  let timer = null;
  let rooms = false;
  let shown = [];  // the conversations listed, in order
  let shownQuery = "";  // what they answer ("": the whole list)
  let nextCursor = null;  // the cursor of the next page, null when the list is whole
  let inFlight = null;  // the list request under way, aborted by a newer one
  let loading = null;  // the next page on its way (a promise of the rows it adds)
  const more = moreRow();
  const endInView = new IntersectionObserver((entries) => {
    if (entries[entries.length - 1].isIntersecting) loadMore();
  }, { root: list, rootMargin: "0px 0px 300px 0px" });
  endInView.observe(more);

  const phone = () => window.matchMedia("(max-width: 800px)").matches;
  const drawer = (open) => {
    document.body.dataset.drawer = open ? "open" : "closed";
    drawerButton.setAttribute("aria-expanded", String(open));
    backdrop.hidden = !open;
    if (open) (phone() ? document.getElementById("chat-new") : search).focus();  // no keyboard popping up on a phone
  };
  // A dialog opened from the drawer on a phone: the drawer closes rather than stay behind it, and when the dialog
  // closes focus goes to the menu button instead of a button in the closed drawer.
  new MutationObserver(() => {
    if (phone() && document.body.dataset.drawer === "open" && document.querySelector("dialog[open]")) drawer(false);
  }).observe(document.body, { subtree: true, attributeFilter: ["open"] });
  document.addEventListener("close", () => {
    queueMicrotask(() => {
      if (inClosedDrawer(document.activeElement)) drawerButton.focus();
    });
  }, true);
  drawerButton.addEventListener("click", () => drawer(document.body.dataset.drawer !== "open"));
  backdrop.addEventListener("click", () => drawer(false));
  document.addEventListener("keydown", (event) => {
    if (document.querySelector("dialog[open]")) return;  // Escape closes the dialog first, not the drawer under it
    if (event.key === "Escape" && document.body.dataset.drawer === "open") {
      drawer(false);
      drawerButton.focus();
    }
  });

  function item(conversation, query) {
    const title = conversation.title || t("chat.untitled");
    const li = document.createElement("li");
    li.dataset.id = conversation.id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    if (conversation.id === chat.current()) open.setAttribute("aria-current", "page");
    const name = document.createElement("span");
    name.className = "title";
    name.textContent = title;
    open.append(name, timeElement(conversation.updatedAt, "list"));
    const shared = conversation.room;
    if (shared) {
      li.classList.add("room");
      if (conversation.id === chat.current()) markSeen(conversation.id, conversation.updatedAt);  // read as it came
      const count = shared.memberCount || (shared.members || []).length;
      name.prepend(groupMark());
      const people = document.createElement("span");
      people.className = "people";
      say(people, "room.count", { count });
      open.append(people);
      if (conversation.id !== chat.current() && isUnread(conversation.id, conversation.updatedAt)) {
        li.dataset.unread = "true";
        const dot = document.createElement("span");
        dot.className = "unread";
        const words = document.createElement("span");
        words.className = "visually-hidden";
        say(words, "room.unread");
        dot.append(words);
        open.append(dot);
      }
    }
    if (query && conversation.snippet) {
      const snippet = document.createElement("span");
      snippet.className = "snippet";
      snippet.textContent = conversation.snippet;
      open.append(snippet);
    }
    open.addEventListener("click", async () => {
      await chat.open(conversation.id);
      if (phone()) drawer(false);
      // focus to the conversation: the composer on a laptop, the messages on a phone (no keyboard popping up)
      document.getElementById(phone() ? "chat-log" : "chat-input").focus();
    });
    const owned = !shared || shared.role === "owner";  // a member leaves a room from its header instead
    li.append(open);
    if (owned) li.append(tool("rename", title, () => renameConversation(conversation.id, title)),
      tool("delete", title, () => deleteConversation(conversation.id, title)));
    return li;
  }

  // The rows under date headings ("Aujourd'hui", "Hier", "7 derniers jours", "30 derniers jours", then by month);
  // search results stay one list, newest first.
  function grouped(conversations, query, last = null) {
    const rows = [];
    for (const conversation of conversations) {
      const group = query ? null : dayGroup(conversation.updatedAt);
      if (group && group !== last) {
        const li = document.createElement("li");
        li.className = "day";
        const heading = document.createElement("h2");
        heading.textContent = group;
        li.append(heading);
        rows.push(li);
        last = group;
      }
      rows.push(item(conversation, query));
    }
    return rows;
  }

  function dayGroup(iso) {
    const when = new Date(iso);
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const days = Math.floor((midnight - when) / 86400000) + 1;  // 0: today, 1: yesterday
    if (when >= midnight) return t("list.today");
    if (days <= 1) return t("list.yesterday");
    if (days <= 7) return t("list.week");
    if (days <= 30) return t("list.month");
    const month = when.toLocaleDateString(locale(), { month: "long", year: "numeric" });
    return month.charAt(0).toUpperCase() + month.slice(1);
  }

  function groupMark() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.classList.add("group-mark");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", GROUP);
    svg.append(path);
    return svg;
  }

  // An icon button named after what it does to this conversation ("Renommer « Budget »").
  function tool(name, title, handler) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon-button small";
    button.setAttribute("aria-label", t(`chat.${name}`, { title }));
    button.title = t(`chat.${name}`, { title });
    button.append(icon(name));
    button.addEventListener("click", handler);
    return button;
  }

  function pageOf(query, cursor) {
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    if (cursor) params.set("cursor", cursor);
    return params.toString() ? `${CHAT}?${params}` : CHAT;
  }

  // The list's first page, drawn again; for the same list (a poll, a rename), the older pages already loaded
  // stay below it, so the list neither shrinks nor jumps.
  async function refresh() {
    if (!config.history) return;
    const query = search.value.trim();
    const mine = ++sequence;
    if (inFlight) inFlight.abort();
    const aborter = (inFlight = new AbortController());
    try {
      const page = await request("GET", pageOf(query, null), undefined, aborter.signal);
      if (mine !== sequence) return;
      let conversations = page.conversations;
      let cursor = page.nextCursor;
      const last = conversations[conversations.length - 1];
      if (query === shownQuery && cursor && shown.length > conversations.length) {
        const ids = new Set(conversations.map((conversation) => conversation.id));
        conversations = conversations.concat(shown.filter((c) => !ids.has(c.id) && older(c, last)));
        cursor = nextCursor;
      }
      const focused = focusedPlace();
      shown = conversations;
      shownQuery = query;
      nextCursor = cursor;
      list.replaceChildren(...grouped(conversations, query), ...(nextCursor ? [more] : []));
      rooms = conversations.some((conversation) => conversation.room);
      refocus(focused);
      if (query && !conversations.length) say(status, "search.none", { query });
      else if (!query && !conversations.length) say(status, "chat.noConversations");
      else say(status, null);
    } catch (failure) {
      if (failure.name === "AbortError") return;  // a newer search took its place
      if (failure instanceof ApiError && failure.code === "unauthorized") list.replaceChildren();  // not signed in yet
      else if (mine === sequence && failure instanceof ApiError) show(error, describe(failure));
    }
  }

  function older(conversation, than) {
    const [a, b] = [Date.parse(conversation.updatedAt), Date.parse(than.updatedAt)];
    return a < b || (a === b && conversation.id < than.id);
  }

  // The next page, under the rows already there (their date headings go on): the rows it adds (those of the load
  // already under way, if one is).
  function loadMore() {
    if (!loading && nextCursor) {
      loading = nextPage().then((added) => {
        loading = null;
        if (added.length && nextCursor) {  // observed anew, the end says whether it is still in view (then: more)
          endInView.unobserve(more);
          endInView.observe(more);
        }
        return added;
      });
    }
    return loading || Promise.resolve([]);
  }

  async function nextPage() {
    more.querySelector("button").setAttribute("aria-busy", "true");
    const mine = sequence;
    try {
      const page = await request("GET", pageOf(shownQuery, nextCursor));
      if (mine !== sequence) return [];
      const ids = new Set(shown.map((conversation) => conversation.id));
      const added = page.conversations.filter((conversation) => !ids.has(conversation.id));
      const heading = shown.length && !shownQuery ? dayGroup(shown[shown.length - 1].updatedAt) : null;
      shown = shown.concat(added);
      nextCursor = page.nextCursor;
      more.before(...grouped(added, shownQuery, heading));
      rooms = rooms || added.some((conversation) => conversation.room);
      if (!nextCursor) more.remove();
      return added;
    } catch (failure) {
      if (mine === sequence && failure instanceof ApiError) show(error, describe(failure));
      return [];
    } finally {
      more.querySelector("button").removeAttribute("aria-busy");
    }
  }

  // The list's last row while there is more: a button for the keyboard (scrolling to it loads the rest anyway).
  function moreRow() {
    const li = document.createElement("li");
    li.className = "more";
    li.dataset.id = "more";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    say(button, "list.more");
    button.addEventListener("click", async () => {
      const [first] = await loadMore();
      const row = first && [...list.children].find((node) => node.dataset.id === first.id);
      if (row) row.querySelector("button.open").focus();  // on to what it loaded
    });
    li.append(button);
    return li;
  }

  // Where focus is in the list (conversation, and which of its buttons), so drawing it again keeps it there.
  function focusedPlace() {
    const row = list.contains(document.activeElement) && document.activeElement.closest("li");
    return row ? { id: row.dataset.id, slot: [...row.children].indexOf(document.activeElement) } : null;
  }

  function refocus(place) {
    const row = place && [...list.children].find((node) => node.dataset.id === place.id);
    if (row && row.children[place.slot]) row.children[place.slot].focus();
  }

  async function renameConversation(id, title) {
    const next = await askTitle(title);
    if (!next || next === title) return;
    try {
      await request("PATCH", `${CHAT}?conversationId=${encodeURIComponent(id)}`, { title: next });
      shown = shown.map((conversation) => (conversation.id === id ? { ...conversation, title: next } : conversation));
    } catch (failure) {
      show(error, describe(failure));
    }
    await refresh();
  }

  async function deleteConversation(id, title) {
    if (!(await confirmDelete(title))) return;
    try {
      await request("DELETE", `${CHAT}?conversationId=${encodeURIComponent(id)}`);
      shown = shown.filter((conversation) => conversation.id !== id);
      if (id === chat.current()) chat.reset();
    } catch (failure) {
      show(error, describe(failure));
    }
    await refresh();
    (phone() ? drawerButton : list.querySelector("button.open") || document.getElementById("chat-new")).focus();
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    const query = search.value.trim();
    if (query === shownQuery || (query && query.length < SEARCH_MIN_CHARS)) return;  // nothing new to ask
    timer = setTimeout(refresh, SEARCH_PAUSE_MS);
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
  document.getElementById("room-new").addEventListener("click", () => {
    if (phone()) drawer(false);
  });
  onLanguageChange(refresh);
  setInterval(() => {
    if (rooms && document.visibilityState === "visible" && !search.value.trim()) refresh();
  }, ROOMS_EVERY_MS);
  drawer(false);
  return { refresh };
}
