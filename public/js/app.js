// The dashboard: load the public config, then set up the brand, language, sign-in, chat, conversations and voice.
import { ApiError, request, useCredentials } from "./api.js";
import { setupAuth } from "./auth.js";
import { setupBrand } from "./brand.js";
import { setupChat } from "./chat.js";
import { show } from "./errors.js";
import { setupExport } from "./export.js";
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
  } catch (failure) {
    // the server answered that a setting is wrong, or did not answer: say which, keep the AI notice, and leave
    // nothing half-working (no composer, no list, no voice)
    const misconfigured = failure instanceof ApiError && failure.code === "misconfigured";
    show(document.getElementById("global-error"), { key: misconfigured ? "error.misconfigured" : "error.config", values: {} });
    setupBrand({});
    for (const id of ["drawer-button", "chat-new-top", "voice-button"]) document.getElementById(id).hidden = true;
    for (const id of ["chat-input", "chat-send"]) document.getElementById(id).disabled = true;
    document.body.dataset.ready = "failed";
    return;
  }
  setupBrand(config);
  document.getElementById("masking-notice").hidden = config.masking === false;  // MASK_IDENTIFIERS=none
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
  setupExport();
  document.getElementById("my-data-box").hidden = !config.history;
  setupMyData(config, { onErased: () => { chat.reset(); sidebar.refresh(); } });
  await chat.reload();
  await room.reload();
  document.body.dataset.ready = "true";
  performance.mark("dashboard-ready");
}

main();
