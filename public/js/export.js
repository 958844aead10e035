// Export the open conversation as a record a client keeps: "Exporter en Markdown" downloads a .md built in the
// browser from what the page shows (title, date, who said what, the AI notice); "Imprimer / PDF" prints the page,
// which the print stylesheet turns into the same record (brand, title, date and notice; no list, no buttons).
import { formatTime, locale, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

function title() {
  const head = $("conversation-head");
  const room = !head.hidden && $("conversation-title").textContent.trim();
  const listed = document.querySelector('#conversation-list [aria-current="page"] .title');
  return room || (listed && listed.textContent.trim()) || t("chat.untitled");
}

function when(item) {
  const time = item.querySelector("time");
  return time ? new Date(time.dateTime).toLocaleString(locale()) : "";
}

// The conversation as Markdown, from the page: each message's author, time and text as the page shows them.
export function markdown(now = new Date()) {
  const lines = [`# ${title()}`, "",
    `*${$("brand-name").textContent.trim()} — ${t("export.made", { date: now.toLocaleString(locale()) })}*`, ""];
  const notices = [$("chat-disclosure"), $("masking-notice")].filter((notice) => !notice.hidden && notice.textContent.trim());
  lines.push(...notices.map((notice) => `> ${notice.textContent.trim()}`), "", "---", "");
  for (const item of document.querySelectorAll("#chat-log .message")) {
    if (item.classList.contains("pending")) continue;
    const who = item.querySelector(".who").textContent.trim();
    lines.push(`**${who}** — ${when(item)}`, "", item.dataset.raw.trim() || "…", "");
    item.querySelectorAll(".note").forEach((line) => lines.push(`*${line.textContent.trim()}*`, ""));
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function fileName(now) {
  const slug = title().normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "conversation";
  return `${slug}-${now.toISOString().slice(0, 10)}.md`;
}

function download() {
  const now = new Date();
  const url = URL.createObjectURL(new Blob([markdown(now)], { type: "text/markdown;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName(now);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);  // after the browser has taken the file
}

export function setupExport() {
  const tools = $("conversation-tools");
  const button = $("export-button");
  const menu = $("export-menu");
  const items = [...menu.querySelectorAll('[role="menuitem"]')];
  const log = $("chat-log");
  const head = $("conversation-head");
  const bar = document.querySelector(".topbar-actions");  // a private chat's: at the top, as ChatGPT's Share
  const home = tools.parentElement;  // on a phone, whose top bar is full: above the messages
  const next = tools.nextElementSibling;
  const phone = window.matchMedia("(max-width: 800px)");

  const toggle = (open, focus = false) => {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open && focus) items[0].focus();
  };
  // Shown once the open conversation has a message; in a room's header, else in the top bar (on a phone, above
  // the messages).
  const place = () => {
    tools.hidden = !log.querySelector(".message:not(.pending)");
    if (tools.hidden) toggle(false);
    const inHead = !head.hidden && head.dataset.state !== "lost";
    if (inHead && tools.parentElement !== head) head.append(tools);
    if (!inHead && !phone.matches && tools.parentElement !== bar) bar.insertBefore(tools, $("voice-status"));
    if (!inHead && phone.matches && tools.parentElement !== home) home.insertBefore(tools, next);
  };
  new MutationObserver(place).observe(log, { childList: true });
  new MutationObserver(place).observe(head, { attributes: true, attributeFilter: ["hidden", "data-state"] });
  phone.addEventListener("change", place);
  place();

  button.addEventListener("click", () => toggle(menu.hidden, true));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      toggle(true, true);
    }
  });
  menu.addEventListener("keydown", (event) => {
    const at = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      toggle(false);
      button.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length].focus();
    } else if (event.key === "Tab") {
      toggle(false);
    }
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !tools.contains(event.target)) toggle(false);
  });
  $("export-markdown").addEventListener("click", () => {
    toggle(false);
    download();
    button.focus();
  });
  $("export-print").addEventListener("click", () => {
    toggle(false);
    button.focus();
    window.print();
  });
  // on paper each message says its day too, not just its time
  const times = () => document.querySelectorAll("#chat-log .message .meta time");
  window.addEventListener("beforeprint", () => {
    $("print-title").textContent = title();
    times().forEach((time) => {
      time.textContent = new Date(time.dateTime).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" });
    });
  });
  window.addEventListener("afterprint", () => {
    times().forEach((time) => {
      time.textContent = formatTime(time.dateTime, time.dataset.style);
    });
  });
}
