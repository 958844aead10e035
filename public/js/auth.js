// Sign-in: Supabase (password or magic link, supabase-js shipped in /vendor), a dashboard token, or nothing.
import { t, onLanguageChange } from "./i18n.js";

const TOKEN_KEY = "dashboard.token";

export async function setupAuth(config, onChange) {
  const area = document.getElementById("auth-area");
  if (config.auth.supabase) {
    return supabaseSignIn(config.auth.supabase, area, onChange, config.auth.allowSignup === true);
  }
  if (config.auth.token && !config.auth.anonymous) return tokenField(area, onChange);
  return { token: async () => null, signedIn: () => true };
}

function tokenField(area, onChange) {
  const form = document.createElement("form");
  form.className = "row";
  const label = document.createElement("label");
  label.htmlFor = "auth-token";
  label.className = "visually-hidden";
  const input = document.createElement("input");
  input.id = "auth-token";
  input.type = "password";
  input.autocomplete = "off";
  input.value = localStorage.getItem(TOKEN_KEY) || "";
  const button = document.createElement("button");
  button.type = "submit";
  const render = () => {
    label.textContent = t("auth.token");
    input.placeholder = t("auth.token");
    button.textContent = t("auth.tokenSave");
  };
  render();
  onLanguageChange(render);
  form.append(label, input, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, input.value.trim());
    onChange();
  });
  area.replaceChildren(form);
  return { token: async () => localStorage.getItem(TOKEN_KEY) || null, signedIn: () => Boolean(input.value) };
}

async function supabaseSignIn({ url, anonKey }, area, onChange, allowSignup) {
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
      who.textContent = t("auth.signedInAs", { email: session.user.email || session.user.id });
      button.textContent = t("auth.signOut");
      button.addEventListener("click", () => supabase.auth.signOut());
      area.replaceChildren(who, button);
    } else {
      button.id = "sign-in-button";
      button.textContent = t("auth.signIn");
      button.addEventListener("click", () => dialog.showModal());
      area.replaceChildren(button);
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
      message.textContent = t("auth.failed", { message: error.message });
    } else if (magic) {
      message.dataset.kind = "ok";
      message.textContent = t("auth.linkSent");
    } else {
      message.textContent = "";
      dialog.close();
    }
  });
  document.getElementById("auth-close").addEventListener("click", () => dialog.close());
  render();
  onLanguageChange(render);
  return { token: async () => (session ? session.access_token : null), signedIn: () => Boolean(session) };
}
