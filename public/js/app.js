// The dashboard: load the public config, then set up the brand, language, sign-in, chat, conversations and voice.
import { request, useCredentials } from "./api.js";
import { setupAuth } from "./auth.js";
import { setupBrand } from "./brand.js";
import { setupChat } from "./chat.js";
import { show } from "./errors.js";
import { setupGroup } from "./group.js";
import { setupMyData } from "./my-data.js";
import { language, setLanguage, translate } from "./i18n.js";
import { setupRoom } from "./room.js";
import { setupSidebar } from "./sidebar.js";
import { setupVoice } from "./voice.js";

function setupLanguage() {
  const button = document.getElementById("lang-button");
  const mark = () => {
    button.lang = language() === "fr" ? "en" : "fr";
  };
  button.addEventListener("click", () => {
    setLanguage(language() === "fr" ? "en" : "fr");
    mark();
  });
  mark();
}

async function main() {
  translate(document);
  setupLanguage();
  let config;
  try {
    config = await request("GET", "/api/config");
  } catch {
    show(document.getElementById("global-error"), { key: "error.config", values: {} });
    return;
  }
  setupBrand(config);
  setupGroup(config);
  const chat = setupChat(config);
  let room = null;
  const auth = await setupAuth(config, async () => {
    await chat.reload();
    if (room) await room.reload();
  });
  useCredentials(auth.token);
  const sidebar = setupSidebar(config, chat);
  chat.onChange(() => sidebar.refresh());
  room = setupRoom(config, chat, auth, () => sidebar.refresh());
  setupVoice(config, chat);
  document.getElementById("my-data-box").hidden = !config.history;
  setupMyData(config, { onErased: () => { chat.reset(); sidebar.refresh(); } });
  await chat.reload();
  await room.reload();
  document.body.dataset.ready = "true";
  performance.mark("dashboard-ready");
}

main();
