// Sign-in: Supabase (password or magic link, supabase-js shipped in /vendor), a dashboard token, or nothing.
import { ApiError } from "./api.js";
import { onLanguageChange, say, t } from "./i18n.js";

const TOKEN_KEY = "dashboard.token";

export async function setupAuth(config, onChange) {
  const area = document.getElementById("auth-area");
  if (config.auth.supabase) return supabaseSignIn(config.auth.supabase, area, onChange);
  if (config.auth.token && !config.auth.anonymous) return tokenSignIn(area, onChange);
  return { token: async () => null, signedIn: () => true };
}

// Is this token accepted? Asks the API with it (401: no); any other answer means the token got through.
async function accepted(token) {
  try {
    const response = await fetch("/api/groupchat/chat", { headers: { Authorization: `Bearer ${token}` } });
    return response.status !== 401;
  } catch {
    throw new ApiError(0, "network", "");
  }
}

function tokenSignIn(area, onChange) {
  let token = localStorage.getItem(TOKEN_KEY) || null;
  const signedOut = () => {
    const form = document.createElement("form");
    form.className = "token-form";
    form.noValidate = true;
    const label = document.createElement("label");
    label.htmlFor = "auth-token";
    label.className = "visually-hidden";
    say(label, "auth.token");
    const input = document.createElement("input");
    input.id = "auth-token";
    input.type = "password";
    input.autocomplete = "current-password";
    input.dataset.i18nAttr = "placeholder:auth.token";
    input.placeholder = t("auth.token");
    input.setAttribute("aria-describedby", "auth-token-message");
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "primary";
    say(button, "auth.tokenSave");
    const message = document.createElement("p");
    message.id = "auth-token-message";
    message.className = "token-message";
    message.setAttribute("role", "status");
    form.append(label, input, button, message);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return input.focus();
      button.disabled = true;
      say(message, "auth.tokenChecking");
      let ok = false;
      try {
        ok = await accepted(value);
      } catch {
        say(message, "error.network");
        button.disabled = false;
        return;
      }
      button.disabled = false;
      if (!ok) {
        say(message, "auth.tokenWrong");
        input.setAttribute("aria-invalid", "true");
        input.select();
        return;
      }
      token = value;
      localStorage.setItem(TOKEN_KEY, value);
      signedIn();
      onChange();
    });
    area.replaceChildren(form);
    area.dataset.state = "signed-out";
  };
  const signedIn = () => {
    const who = document.createElement("span");
    who.className = "signed-in";
    say(who, "auth.signedIn");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    say(button, "auth.signOut");
    button.addEventListener("click", () => {
      token = null;
      localStorage.removeItem(TOKEN_KEY);
      signedOut();
      onChange();
      document.getElementById("auth-token").focus();
    });
    area.replaceChildren(who, button);
    area.dataset.state = "signed-in";
  };
  if (token) signedIn();
  else signedOut();
  // A stored token that no longer works: back to signed out, quietly (the user tried nothing yet).
  if (token) {
    accepted(token).then((ok) => {
      if (!ok && token) {
        token = null;
        localStorage.removeItem(TOKEN_KEY);
        signedOut();
      }
    }).catch(() => {});
  }
  return { token: async () => token, signedIn: () => Boolean(token) };
}

async function supabaseSignIn({ url, anonKey }, area, onChange) {
  const { createClient } = await import("/vendor/supabase.js");
  const supabase = createClient(url, anonKey, { auth: { persistSession: true, detectSessionInUrl: true } });
  let session = (await supabase.auth.getSession()).data.session;
  const dialog = document.getElementById("auth-dialog");
  const form = document.getElementById("auth-form");
  const message = document.getElementById("auth-message");

  const render = () => {
    const button = document.createElement("button");
    button.type = "button";
    if (session) {
      const who = document.createElement("span");
      who.className = "signed-in";
      who.textContent = t("auth.signedInAs", { email: session.user.email || session.user.id });
      button.className = "secondary";
      button.textContent = t("auth.signOut");
      button.addEventListener("click", () => supabase.auth.signOut());
      area.replaceChildren(who, button);
      area.dataset.state = "signed-in";
    } else {
      button.id = "sign-in-button";
      button.className = "primary";
      button.textContent = t("auth.signIn");
      button.addEventListener("click", () => dialog.showModal());
      area.replaceChildren(button);
      area.dataset.state = "signed-out";
    }
  };
  supabase.auth.onAuthStateChange((_event, next) => {
    const changed = (next && next.access_token) !== (session && session.access_token);
    session = next;
    render();
    if (changed) onChange();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = document.getElementById("auth-email").value.trim();
    const password = document.getElementById("auth-password").value;
    message.dataset.kind = "";
    const magic = event.submitter && event.submitter.value === "magic";
    const { error } = magic
      ? await supabase.auth.signInWithOtp({ email, options: { emailRedirectTo: location.origin } })
      : await supabase.auth.signInWithPassword({ email, password });
    if (error) {
      message.dataset.kind = "error";
      say(message, magic ? "auth.linkFailed" : "auth.failed");
    } else if (magic) {
      message.dataset.kind = "ok";
      say(message, "auth.linkSent");
    } else {
      say(message, null);
      dialog.close();
    }
  });
  document.getElementById("auth-close").addEventListener("click", () => dialog.close());
  render();
  onLanguageChange(render);
  return { token: async () => (session ? session.access_token : null), signedIn: () => Boolean(session) };
}
