// A long conversation opens on its newest messages; the earlier ones come page by page as the reader scrolls up
// to the "Messages précédents" button at the top of the log (or presses it), keeping the reader's place.
import { say } from "./i18n.js";

export function olderMessages(log, load) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "load-older";
  button.hidden = true;
  say(button, "chat.older");
  let busy = false;

  async function more() {
    if (busy || button.hidden) return;
    busy = true;
    const fromBottom = log.scrollHeight - log.scrollTop;
    try {
      button.hidden = !(await load());
    } catch {
      // a passing failure: the button stays, to try again
    } finally {
      busy = false;
    }
    log.scrollTop = log.scrollHeight - fromBottom;  // the message read before stays where it was
  }

  button.addEventListener("click", more);
  new IntersectionObserver((seen) => {
    if (seen.some((entry) => entry.isIntersecting)) more();
  }, { root: log }).observe(button);

  return {
    // After a conversation is drawn: the button at the top, shown when earlier messages exist.
    reset(hasOlder) {
      log.prepend(button);
      button.hidden = !hasOlder;
    },
  };
}
