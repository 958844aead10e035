// Every string the dashboard shows, French first; `t(key, values)` picks the current language.

export const STRINGS = {
  fr: {
    "app.title": "Tableau de bord financier",
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English",
    "tabs.label": "Sections",
    "tabs.group": "ChatGPT Groupe",
    "tabs.chat": "Chat intégré",
    "group.heading": "Salon ChatGPT de groupe",
    "group.why": "OpenAI ne propose pas d'API pour les discussions de groupe et chatgpt.com refuse d'être affiché dans une autre page : le salon s'ouvre dans un nouvel onglet.",
    "group.label": "Lien du salon",
    "group.placeholder": "https://chatgpt.com/gg/…",
    "group.save": "Enregistrer",
    "group.reset": "Lien par défaut",
    "group.open": "Ouvrir le salon",
    "group.copy": "Copier le lien",
    "group.saved": "Lien enregistré sur cet appareil.",
    "group.copied": "Lien copié dans le presse-papiers.",
    "group.copyFailed": "Copie impossible : sélectionnez le lien et copiez-le à la main.",
    "group.invalid": "Lien refusé : seuls les liens https://chatgpt.com/… sont acceptés.",
    "group.none": "Aucun salon configuré : collez le lien d'invitation de votre groupe ChatGPT.",
    "chat.heading": "Chat intégré",
    "chat.conversations": "Conversations",
    "chat.new": "Nouvelle conversation",
    "chat.delete": "Supprimer « {title} »",
    "chat.deleteConfirm": "Supprimer cette conversation ?",
    "chat.empty": "Posez une question sur vos comptes, budgets ou placements.",
    "chat.inputLabel": "Votre message",
    "chat.placeholder": "Écrivez votre message… (Entrée pour envoyer, Maj+Entrée pour aller à la ligne)",
    "chat.send": "Envoyer",
    "chat.stop": "Arrêter",
    "chat.you": "Vous",
    "chat.assistant": "Assistant",
    "chat.stopped": "Réponse interrompue.",
    "chat.settings": "Réglages",
    "chat.systemPrompt": "Consigne système (facultatif)",
    "chat.systemPromptHint": "Par exemple : « Réponds en français, en termes simples. »",
    "chat.notSaved": "Cette réponse n'a pas été enregistrée dans l'historique.",
    "chat.historyOff": "Historique désactivé sur ce serveur.",
    "chat.thinking": "L'assistant rédige…",
    "auth.signIn": "Se connecter",
    "auth.signOut": "Se déconnecter",
    "auth.signedInAs": "Connecté : {email}",
    "auth.email": "Adresse e-mail",
    "auth.password": "Mot de passe",
    "auth.withPassword": "Connexion",
    "auth.magicLink": "Recevoir un lien de connexion",
    "auth.linkSent": "Lien envoyé : ouvrez l'e-mail pour vous connecter.",
    "auth.failed": "Connexion refusée : {message}",
    "auth.close": "Fermer",
    "auth.required": "Connectez-vous pour utiliser le chat et l'assistant vocal.",
    "auth.token": "Jeton d'accès",
    "auth.tokenSave": "Utiliser ce jeton",
    "auth.tokenSaved": "Jeton enregistré sur cet appareil.",
    "voice.start": "Démarrer l'assistant vocal",
    "voice.stop": "Arrêter l'assistant vocal",
    "voice.idle": "",
    "voice.connecting": "Connexion…",
    "voice.listening": "À l'écoute",
    "voice.speaking": "L'assistant parle",
    "voice.stopped": "Assistant vocal arrêté",
    "voice.transcript": "Transcription",
    "voice.error.microphone": "Micro refusé : autorisez le micro pour ce site.",
    "voice.error.key": "Session vocale refusée : {message}",
    "voice.error.network": "Connexion vocale impossible : vérifiez votre réseau.",
    "voice.error.unsupported": "Ce navigateur ne gère pas l'assistant vocal.",
    "error.rate_limited": "Trop de demandes. Réessayez dans {seconds} s.",
    "error.rate_limited_day": "Limite quotidienne atteinte. Réessayez après {time}.",
    "error.upstream_rate_limited": "OpenAI est saturé pour le moment. Réessayez dans {seconds} s.",
    "error.upstream_quota": "Le crédit OpenAI du service est épuisé : prévenez l'administrateur.",
    "error.upstream_auth": "Le service ne peut pas s'identifier auprès d'OpenAI : prévenez l'administrateur.",
    "error.upstream_timeout": "OpenAI n'a pas répondu à temps. Réessayez.",
    "error.upstream_down": "OpenAI est indisponible pour le moment. Réessayez dans un instant.",
    "error.upstream_stream_interrupted": "La réponse a été coupée avant la fin. Réessayez.",
    "error.not_configured": "Le service n'est pas encore configuré : {message}",
    "error.unauthorized": "Accès refusé : connectez-vous ou vérifiez votre jeton.",
    "error.validation_error": "Message refusé : {message}",
    "error.payload_too_large": "Message trop long.",
    "error.conversation_not_found": "Cette conversation n'existe plus.",
    "error.history": "L'historique est indisponible pour le moment.",
    "error.network": "Connexion au serveur impossible. Vérifiez votre réseau.",
    "error.unknown": "Une erreur est survenue ({code}). Réessayez.",
    "error.config": "Configuration du serveur invalide : {message}",
  },
  en: {
    "app.title": "Finance dashboard",
    "lang.switch": "Français",
    "lang.switchLabel": "Passer en français",
    "tabs.label": "Sections",
    "tabs.group": "ChatGPT Group",
    "tabs.chat": "Integrated chat",
    "group.heading": "ChatGPT group room",
    "group.why": "OpenAI offers no API for group chats and chatgpt.com refuses to be shown inside another page, so the room opens in a new tab.",
    "group.label": "Room link",
    "group.placeholder": "https://chatgpt.com/gg/…",
    "group.save": "Save",
    "group.reset": "Default link",
    "group.open": "Open the room",
    "group.copy": "Copy the link",
    "group.saved": "Link saved on this device.",
    "group.copied": "Link copied to the clipboard.",
    "group.copyFailed": "Could not copy: select the link and copy it by hand.",
    "group.invalid": "Link refused: only https://chatgpt.com/… links are accepted.",
    "group.none": "No room set up: paste your ChatGPT group's invitation link.",
    "chat.heading": "Integrated chat",
    "chat.conversations": "Conversations",
    "chat.new": "New conversation",
    "chat.delete": "Delete “{title}”",
    "chat.deleteConfirm": "Delete this conversation?",
    "chat.empty": "Ask about your accounts, budgets or investments.",
    "chat.inputLabel": "Your message",
    "chat.placeholder": "Write your message… (Enter to send, Shift+Enter for a new line)",
    "chat.send": "Send",
    "chat.stop": "Stop",
    "chat.you": "You",
    "chat.assistant": "Assistant",
    "chat.stopped": "Reply stopped.",
    "chat.settings": "Settings",
    "chat.systemPrompt": "System prompt (optional)",
    "chat.systemPromptHint": "For example: “Answer in plain English.”",
    "chat.notSaved": "This reply was not saved to the history.",
    "chat.historyOff": "History is off on this server.",
    "chat.thinking": "The assistant is writing…",
    "auth.signIn": "Sign in",
    "auth.signOut": "Sign out",
    "auth.signedInAs": "Signed in: {email}",
    "auth.email": "Email address",
    "auth.password": "Password",
    "auth.withPassword": "Sign in",
    "auth.magicLink": "Email me a sign-in link",
    "auth.linkSent": "Link sent: open the email to sign in.",
    "auth.failed": "Sign-in refused: {message}",
    "auth.close": "Close",
    "auth.required": "Sign in to use the chat and the voice assistant.",
    "auth.token": "Access token",
    "auth.tokenSave": "Use this token",
    "auth.tokenSaved": "Token saved on this device.",
    "voice.start": "Start the voice assistant",
    "voice.stop": "Stop the voice assistant",
    "voice.idle": "",
    "voice.connecting": "Connecting…",
    "voice.listening": "Listening",
    "voice.speaking": "The assistant is speaking",
    "voice.stopped": "Voice assistant stopped",
    "voice.transcript": "Transcript",
    "voice.error.microphone": "Microphone refused: allow the microphone for this site.",
    "voice.error.key": "Voice session refused: {message}",
    "voice.error.network": "Could not connect the voice session: check your network.",
    "voice.error.unsupported": "This browser cannot run the voice assistant.",
    "error.rate_limited": "Too many requests. Try again in {seconds} s.",
    "error.rate_limited_day": "Daily limit reached. Try again after {time}.",
    "error.upstream_rate_limited": "OpenAI is busy right now. Try again in {seconds} s.",
    "error.upstream_quota": "The service's OpenAI credit is used up: tell the administrator.",
    "error.upstream_auth": "The service cannot sign in to OpenAI: tell the administrator.",
    "error.upstream_timeout": "OpenAI did not answer in time. Try again.",
    "error.upstream_down": "OpenAI is unavailable right now. Try again in a moment.",
    "error.upstream_stream_interrupted": "The reply was cut off before the end. Try again.",
    "error.not_configured": "The service is not set up yet: {message}",
    "error.unauthorized": "Access refused: sign in or check your token.",
    "error.validation_error": "Message refused: {message}",
    "error.payload_too_large": "Message too long.",
    "error.conversation_not_found": "This conversation no longer exists.",
    "error.history": "The history is unavailable right now.",
    "error.network": "Could not reach the server. Check your network.",
    "error.unknown": "Something went wrong ({code}). Try again.",
    "error.config": "Invalid server configuration: {message}",
  },
};

const STORAGE_KEY = "dashboard.lang";
let current = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "fr";
const listeners = new Set();

export function language() {
  return current;
}

export function t(key, values = {}) {
  const text = STRINGS[current][key] ?? STRINGS.fr[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

export function setLanguage(lang) {
  current = lang === "en" ? "en" : "fr";
  localStorage.setItem(STORAGE_KEY, current);
  translate(document);
  listeners.forEach((listener) => listener(current));
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

// Elements carry data-i18n="key" for their text and data-i18n-attr="attr:key;attr:key" for attributes.
export function translate(root) {
  document.documentElement.lang = current;
  root.querySelectorAll("[data-i18n]").forEach((element) => {
    element.textContent = t(element.dataset.i18n);
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((element) => {
    for (const pair of element.dataset.i18nAttr.split(";")) {
      const [attribute, key] = pair.split(":");
      element.setAttribute(attribute, t(key));
    }
  });
}
