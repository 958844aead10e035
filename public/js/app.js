// The dashboard: load the public config, then set up language, tabs, sign-in, group room, chat and voice.
import { request, useCredentials } from "./api.js";
import { setupAuth } from "./auth.js";
import { setupChat } from "./chat.js";
import { show } from "./errors.js";
import { setupGroup } from "./group.js";
import { language, setLanguage, t, translate } from "./i18n.js";
import { setupRoom } from "./room.js";
import { setupVoice } from "./voice.js";

const TAB_KEY = "dashboard.tab";

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus = false) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    localStorage.setItem(TAB_KEY, tab.id);
    if (focus) tab.focus();
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) select(tabs[(index + step + tabs.length) % tabs.length], true);
      if (event.key === "Home") select(tabs[0], true);
      if (event.key === "End") select(tabs[tabs.length - 1], true);
    });
  });
  select(document.getElementById(localStorage.getItem(TAB_KEY)) || tabs[0]);
}

async function main() {
  translate(document);
  document.getElementById("lang-button").addEventListener("click", () => {
    setLanguage(language() === "fr" ? "en" : "fr");
    document.getElementById("lang-button").lang = language() === "fr" ? "en" : "fr";
  });
  setupTabs();
  let config;
  try {
    config = await request("GET", "/api/config");
  } catch (failure) {
    show(document.getElementById("global-error"), t("error.config", { message: failure.message }));
    return;
  }
  setupGroup(config);
  let chat = null;
  let room = null;
  const auth = await setupAuth(config, () => chat && chat.reload().then(() => room && room.reload()));
  useCredentials(auth.token);
  chat = setupChat(config);
  room = setupRoom(document.getElementById("room"), config);
  setupVoice(config, chat);
  await chat.reload();
  await room.reload();
  document.body.dataset.ready = "true";
  performance.mark("dashboard-ready");
}

main();
