// When this device last read each conversation, so the list can mark those with newer messages as unread.
const KEY = "dashboard.seen";
const KEEP = 500;  // conversations remembered; the oldest are forgotten first

function all() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || {};
  } catch {
    return {};
  }
}

export function markSeen(id, iso) {
  if (!id || !iso) return;
  const seen = all();
  if (seen[id] && seen[id] >= iso) return;
  seen[id] = iso;
  const ids = Object.keys(seen);
  if (ids.length > KEEP) ids.sort((a, b) => (seen[a] < seen[b] ? -1 : 1)).slice(0, ids.length - KEEP)
    .forEach((old) => delete seen[old]);
  localStorage.setItem(KEY, JSON.stringify(seen));
}

// A conversation is unread when something arrived after this device last read it (never read: unread).
export function isUnread(id, updatedAt) {
  const last = all()[id];
  return !last || new Date(updatedAt) > new Date(last);
}
