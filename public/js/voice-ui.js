// What the voice assistant shows: the labelled button, its state in the header, the transcript with speaker labels,
// and the right words for each failure. voice.js keeps the connection; this module only the page.
import { onLanguageChange, say, t } from "./i18n.js";

const ACTIVE = ["connecting", "listening", "speaking"];

// The kind of failure, for its words: not available on this server, sign-in, too many sessions, refused, network.
export function failureKind(failure) {
  if (!failure) return "network";
  if (failure.status === 501) return "unavailable";
  if (failure.code === "network" || failure.status === 0) return "network";
  if (failure.code === "unauthorized") return "signin";
  if (failure.code === "rate_limited") return "busy";
  if (failure.code === "openai_not_configured") return "unavailable";
  return "key";
}

export function voiceUi() {
  const button = document.getElementById("voice-button");
  const label = document.getElementById("voice-label");
  const status = document.getElementById("voice-status");
  const panel = document.getElementById("voice-panel");
  const transcript = document.getElementById("voice-transcript");
  let state = "idle";

  const render = () => {
    const active = ACTIVE.includes(state);
    button.setAttribute("aria-pressed", String(active));
    button.dataset.state = state;
    status.dataset.state = state;
    const name = t(active ? "voice.stop" : "voice.start");
    button.setAttribute("aria-label", name);
    button.title = name;
    say(label, active ? "voice.labelActive" : "voice.label");
  };

  const ui = {
    get state() {
      return state;
    },
    // next: idle, connecting, listening, speaking, stopped, or error with its kind (see failureKind)
    setState(next, kind = "network") {
      state = next;
      if (next === "error") say(status, `voice.error.${kind}`);
      else if (next === "idle") say(status, null);
      else say(status, `voice.${next}`);
      if (ACTIVE.includes(next)) panel.hidden = false;
      if (next === "stopped" || next === "error" || next === "idle") ui.clear();
      render();
    },
    // A new transcript line for "user" or "assistant"; returns the element to write its text into.
    line(speaker) {
      const paragraph = document.createElement("p");
      paragraph.dataset.speaker = speaker;
      const who = document.createElement("span");
      who.className = "who";
      say(who, speaker === "user" ? "voice.you" : "voice.assistant");
      const text = document.createElement("span");
      text.className = "text";
      paragraph.append(who, text);
      transcript.append(paragraph);
      transcript.scrollTop = transcript.scrollHeight;
      return text;
    },
    clear() {
      transcript.replaceChildren();
      panel.hidden = true;
    },
  };
  onLanguageChange(render);
  render();
  return ui;
}
