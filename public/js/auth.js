// Sign-in: Supabase (password or magic link, supabase-js shipped in /vendor), a dashboard token, or nothing.
import { ApiError } from "./api.js";
import { icon } from "./icons.js";
import { onLanguageChange, say, t } from "./i18n.js";

const TOKEN_KEY = "dashboard.token";

export async function setupAuth(config, onChange) {
  const area = document.getElementById("auth-area");
  if (config.auth.supabase) {
    return supabaseSignIn(config.auth.supabase, area, onChange, config.auth.allowSignup === true);
  }
  // With anonymous access too (a local run), signing in with a token is optional: it is what rooms need.
  if (config.auth.token) return tokenSignIn(area, onChange, config.auth.anonymous);
  return { token: async () => null, signedIn: () => false, canSignIn: () => false };
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

// A header button with an icon and a label (the label hidden on phones, kept as the button's name).
function headerButton(key, primary) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `auth-button ${primary ? "primary" : "secondary"}`;
  button.dataset.i18nAttr = `title:${key}`;
  button.title = t(key);
  button.append(icon("person"));
  const label = document.createElement("span");
  label.className = "label";
  say(label, key);
  button.append(label);
  return button;
}

function tokenSignIn(area, onChange, local) {
  let token = localStorage.getItem(TOKEN_KEY) || null;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("auth-token");
  const message = document.getElementById("auth-token-message");
  const submit = document.getElementById("token-submit");
  const localHint = document.getElementById("auth-token-local");  // where a local run's tokens are (not on admin.html)
  if (localHint) localHint.hidden = !local;

  const signedOut = () => {
    const button = headerButton("auth.signIn", true);
    button.id = "sign-in-button";
    button.addEventListener("click", () => {
      input.value = "";
      input.setAttribute("aria-invalid", "false");
      say(message, null);
      dialog.showModal();
    });
    area.replaceChildren(button);
    area.dataset.state = "signed-out";
  };
  const signedIn = () => {
    const who = document.createElement("span");
    who.className = "signed-in";
    say(who, "auth.signedIn");
    const button = headerButton("auth.signOut", false);
    button.addEventListener("click", () => {
      token = null;
      localStorage.removeItem(TOKEN_KEY);
      signedOut();
      onChange();
      document.getElementById("sign-in-button").focus();
    });
    area.replaceChildren(who, button);
    area.dataset.state = "signed-in";
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return input.focus();
    submit.disabled = true;
    say(message, "auth.tokenChecking");
    let ok = false;
    try {
      ok = await accepted(value);
    } catch {
      say(message, "error.network");
      submit.disabled = false;
      return;
    }
    submit.disabled = false;
    if (!ok) {
      say(message, "auth.tokenWrong");
      input.setAttribute("aria-invalid", "true");
      input.select();
      return;
    }
    say(message, null);
    token = value;
    localStorage.setItem(TOKEN_KEY, value);
    dialog.close();
    signedIn();
    onChange();
  });
  document.getElementById("token-close").addEventListener("click", () => dialog.close());
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
  return { token: async () => token, signedIn: () => Boolean(token), canSignIn: () => true };
}

async function supabaseSignIn({ url, anonKey }, area, onChange, allowSignup) {
  const { createClient } = await import("/vendor/supabase.js");
  const supabase = createClient(url, anonKey, { auth: { persistSession: true, detectSessionInUrl: true } });
  let session = (await supabase.auth.getSession()).data.session;
  const dialog = document.getElementById("auth-dialog");
  const form = document.getElementById("auth-form");
  const message = document.getElementById("auth-message");

  const render = () => {
    if (session) {
      const who = document.createElement("span");
      who.className = "signed-in";
      who.textContent = t("auth.signedInAs", { email: session.user.email || session.user.id });
      const button = headerButton("auth.signOut", false);
      button.addEventListener("click", () => supabase.auth.signOut());
      area.replaceChildren(who, button);
      area.dataset.state = "signed-in";
    } else {
      const button = headerButton("auth.signIn", true);
      button.id = "sign-in-button";
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
      ? await supabase.auth.signInWithOtp({
          email,
          // never create an account from the sign-in form unless the server allows sign-up (AUTH_ALLOW_SIGNUP=1)
          options: { emailRedirectTo: location.origin, shouldCreateUser: allowSignup },
        })
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
  return { token: async () => (session ? session.access_token : null), signedIn: () => Boolean(session),
    canSignIn: () => true };
}
