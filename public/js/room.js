// A room's own parts around the conversation view: its header (name, faces, Invite, Leave), the people dialog
// (members, removal after a confirmation, open invitations with who made them, when they end, how many joined, and
// revocation), "Nouveau salon", and joining through an invitation link (?invite=<token>).
import { ApiError, request } from "./api.js";
import { confirmAction } from "./dialogs.js";
import { describe, show } from "./errors.js";
import { formatTime, locale, say, t } from "./i18n.js";
import { avatar, setFaces } from "./messages.js";

const MEMBERS = "/api/groupchat/members";
const INVITE_KEY = "dashboard.invite";  // an invitation opened before signing in, kept for this tab only
const FACES = 4;  // faces in the header; the rest is "+n"

export function setupRoom(config, chat, auth, onChange) {
  const $ = (id) => document.getElementById(id);
  const head = $("conversation-head");
  const dialog = $("room-dialog");
  const error = $("chat-error");
  const banner = $("room-notice");
  let roomId = null;
  let title = "";
  let state = { members: [], you: null, role: null, invites: [] };
  const known = new Set();

  const tell = (key, values) => {
    say(banner, key || null, values);
    banner.hidden = !key;
  };

  // --- the header ------------------------------------------------------------------------------------------
  function drawHead() {
    $("conversation-title").textContent = title;
    const owner = state.members.find((member) => member.role === "owner");
    say($("room-summary"), "room.summary", { count: state.members.length, owner: owner ? owner.name : "" });
    const faces = state.members.slice(0, FACES).map((member) => {
      const face = avatar(member);
      face.title = member.name;
      return face;
    });
    if (state.members.length > FACES) {
      const more = document.createElement("span");
      more.className = "avatar more";
      more.setAttribute("aria-hidden", "true");
      more.textContent = `+${state.members.length - FACES}`;
      faces.push(more);
    }
    $("room-avatars").replaceChildren(...faces);
    $("room-people").setAttribute("aria-label", t("room.people", { count: state.members.length }));
    $("room-invite").hidden = state.role !== "owner";
    $("room-leave").hidden = state.role !== "member";
    head.hidden = false;
    head.dataset.state = "open";
  }

  async function load() {
    const before = state.members.length;
    const list = await request("GET", `${MEMBERS}?conversationId=${encodeURIComponent(roomId)}`);
    state = { members: list.members, you: list.you, invites: list.invites || [],
      role: (list.members.find((member) => member.userId === list.you) || {}).role || "member" };
    if (list.title) title = list.title;
    known.clear();
    state.members.forEach((member) => known.add(member.userId));
    setFaces(state.members.map((member) => member.userId));
    drawHead();
    if (dialog.open) drawDialog();
    if (before && before !== state.members.length) onChange();  // the list shows each room's member count
    return state;
  }

  // --- the people dialog ------------------------------------------------------------------------------------
  function memberRow(member) {
    const item = document.createElement("li");
    item.dataset.userId = member.userId;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = member.name || t("room.someone");
    const badges = document.createElement("span");
    badges.className = "badges";
    if (member.role === "owner") badges.append(badge("room.owner"));
    if (member.userId === state.you) badges.append(badge("room.youBadge"));
    item.append(avatar(member), name, badges);
    const leaving = member.userId === state.you && member.role !== "owner";
    if (leaving || (state.role === "owner" && member.role !== "owner")) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small";
      say(button, leaving ? "room.leave" : "room.remove");
      if (!leaving) button.setAttribute("aria-label", t("room.removeWho", { name: member.name }));
      button.addEventListener("click", () => (leaving ? leave() : remove(member)));
      item.append(button);
    }
    return item;
  }

  function badge(key) {
    const mark = document.createElement("span");
    mark.className = "badge";
    say(mark, key);
    return mark;
  }

  function inviteRow(invite) {
    const item = document.createElement("li");
    item.dataset.id = invite.id;
    const text = document.createElement("div");
    text.className = "invite-text";
    const kind = document.createElement("strong");
    say(kind, invite.reusable ? "room.inviteReusable" : "room.inviteSingle");
    const detail = document.createElement("span");
    say(detail, "room.inviteDetail", {
      who: (invite.createdBy && invite.createdBy.name) || t("room.someone"),
      date: new Date(invite.expiresAt).toLocaleDateString(locale(), { day: "numeric", month: "long" }),
      joined: invite.joined || 0,
    });
    text.append(kind, detail);
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "secondary small";
    say(revoke, "room.revoke");
    revoke.setAttribute("aria-label", t("room.revokeWhich", { made: formatTime(invite.createdAt, "list") }));
    revoke.addEventListener("click", () => revokeInvite(invite));
    item.append(text, revoke);
    return item;
  }

  function drawDialog() {
    say($("room-dialog-title"), "room.peopleTitle", { title });
    $("room-members").replaceChildren(...state.members.map(memberRow));
    const owner = state.role === "owner";
    $("room-invites").hidden = !owner;
    if (owner) {
      const made = $("invite-new");
      if (!state.invites.some((invite) => String(invite.id) === made.dataset.id)) made.hidden = true;  // spent or ended
      $("invite-list").replaceChildren(...state.invites.map(inviteRow));
      say($("invite-none"), state.invites.length ? null : "room.noInvites");
    }
  }

  function openDialog(focus) {
    drawDialog();
    say($("room-dialog-message"), null);
    if (!dialog.open) dialog.showModal();
    (focus ? $(focus) : $("room-dialog-close")).focus();
  }

  async function act(work) {
    say($("room-dialog-message"), null);
    try {
      await work();
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "conversation_not_found") {
        dialog.close();
        return chat.reload();
      }
      const described = describe(failure);
      say($("room-dialog-message"), described.key, described.values);
      $("room-dialog-message").dataset.kind = "error";
    }
  }

  async function remove(member) {
    const sure = await confirmAction({ title: "room.removeTitle", text: "room.removeText", ok: "room.remove",
      values: { name: member.name, title } });
    if (!sure) return;
    await act(async () => {
      await request("DELETE", `${MEMBERS}?conversationId=${encodeURIComponent(roomId)}&userId=${encodeURIComponent(member.userId)}`);
      await load();
      say($("room-dialog-message"), "room.removed", { name: member.name });
      $("room-dialog-message").dataset.kind = "ok";
    });
  }

  async function leave() {
    const sure = await confirmAction({ title: "room.leaveTitle", text: "room.leaveText", ok: "room.leave",
      values: { title } });
    if (!sure) return;
    await act(async () => {
      await request("DELETE", `${MEMBERS}?conversationId=${encodeURIComponent(roomId)}&userId=${encodeURIComponent(state.you)}`);
      if (dialog.open) dialog.close();
      chat.reset();
      onChange();
    });
  }

  async function revokeInvite(invite) {
    await act(async () => {
      await request("DELETE", `${MEMBERS}?conversationId=${encodeURIComponent(roomId)}&inviteId=${encodeURIComponent(invite.id)}`);
      if ($("invite-new").dataset.id === String(invite.id)) $("invite-new").hidden = true;
      await load();
      say($("room-dialog-message"), "room.revoked");
      $("room-dialog-message").dataset.kind = "ok";
    });
  }

  $("invite-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const reusable = $("invite-reusable").checked;
      const made = await request("POST", MEMBERS, { conversationId: roomId, reusable });
      $("invite-link").value = made.url;
      $("invite-new").hidden = false;
      $("invite-new").dataset.id = String(made.id);
      say($("invite-note"), reusable ? "room.inviteReadyMany" : "room.inviteReadyOne", {
        date: new Date(made.expiresAt).toLocaleDateString(locale(), { day: "numeric", month: "long" }) });
      await load();
      $("invite-link").select();
    });
  });
  $("invite-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("invite-link").value);
      say($("room-dialog-message"), "room.copied");
      $("room-dialog-message").dataset.kind = "ok";
    } catch {
      $("invite-link").select();
      say($("room-dialog-message"), "group.copyFailed");
    }
  });
  $("room-people").addEventListener("click", () => openDialog());
  $("room-invite").addEventListener("click", () => openDialog("invite-create"));
  $("room-leave").addEventListener("click", () => leave());
  $("room-dialog-close").addEventListener("click", () => dialog.close());

  // --- a new room: a name, nothing sent to the assistant ------------------------------------------------------
  const newDialog = $("new-room-dialog");
  const nameInput = $("new-room-name");
  async function create(event) {
    event.preventDefault();
    if (event.submitter && event.submitter.value === "cancel") return newDialog.close();
    const name = nameInput.value.split(/\s+/).join(" ").trim();
    if (!name || name.length > 200) {
      say($("new-room-message"), "room.nameInvalid");
      nameInput.setAttribute("aria-invalid", "true");
      return nameInput.focus();
    }
    try {
      const made = await request("POST", MEMBERS, { title: name });
      newDialog.close();
      await chat.open(made.conversationId);
      onChange();
    } catch (failure) {
      const described = describe(failure);
      say($("new-room-message"), described.key, described.values);
    }
  }
  $("new-room-form").addEventListener("submit", create);
  $("room-new").addEventListener("click", () => {
    nameInput.value = "";
    nameInput.setAttribute("aria-invalid", "false");
    say($("new-room-message"), null);
    newDialog.showModal();
    nameInput.focus();
  });

  // --- rooms need people who signed in: say so, and how --------------------------------------------------------
  function offer() {
    const able = config.history && auth.signedIn();
    $("room-new").hidden = !able;
    // only where the chat works without signing in: elsewhere the header's sign-in is the one thing to do
    $("room-signin").hidden = able || !config.history || !config.auth.anonymous || !auth.canSignIn();
    say($("room-signin-text"), "room.signInToCreate");
  }
  $("room-signin-button").addEventListener("click", () => $("sign-in-button")?.click());

  // Joining through a link: ?invite=<token>, taken out of the address once read; kept for this tab until the
  // person has signed in.
  async function joinFromLink() {
    const params = new URLSearchParams(location.search);
    const fromLink = params.get("invite");
    if (fromLink) {
      sessionStorage.setItem(INVITE_KEY, fromLink);
      params.delete("invite");
      history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}${location.hash}`);
    }
    const token = sessionStorage.getItem(INVITE_KEY);
    if (!token) return false;
    if (!auth.signedIn()) {
      tell("room.signInToJoin");
      return true;
    }
    try {
      const joined = await request("POST", MEMBERS, { invite: token });
      sessionStorage.removeItem(INVITE_KEY);
      await chat.open(joined.conversationId);
      tell("room.joined");
    } catch (failure) {
      if (failure instanceof ApiError && (failure.code === "sign_in_required" || failure.code === "unauthorized")) {
        tell("room.signInToJoin");
        return true;
      }
      sessionStorage.removeItem(INVITE_KEY);
      if (failure instanceof ApiError && failure.code === "invite_not_found") tell("room.inviteDead");
      else show(error, describe(failure));
    }
    return true;
  }

  chat.useRoom({
    async show(id, name) {
      roomId = id;
      title = name;
      tell(null);
      return load();
    },
    hide(lost = false) {
      if (dialog.open) dialog.close();
      if (lost) {
        head.dataset.state = "lost";
        $("room-invite").hidden = $("room-leave").hidden = true;
        return;
      }
      roomId = null;
      head.hidden = true;
      tell(null);
    },
    refresh: () => (roomId ? load() : null),
    knows: (userId) => known.has(userId),
    invite: () => openDialog("invite-create"),
  });

  return {
    offer,
    async reload() {
      offer();
      await joinFromLink();
    },
  };
}
