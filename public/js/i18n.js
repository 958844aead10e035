// Every string the dashboard shows, French first; `t(key, values)` picks the current language, and `say(element,
// key, values)` remembers the key so that a language switch re-renders every text on screen.

export const STRINGS = {
  fr: {
    "app.name": "Assistant financier",
    "app.title": "{name} — Assistant",
    "app.skip": "Aller au message",
    "lang.short": "EN",
    "lang.switchLabel": "Switch to English",
    "dialog.cancel": "Annuler",
    "dialog.close": "Fermer",
    "notice.ai": "Vous échangez avec une intelligence artificielle, pas avec un conseiller ; elle peut se tromper.",
    "notice.advice": "Informations générales, pas un conseil en investissement.",
    "notice.voice": "Voix générée par intelligence artificielle.",
    "room.heading": "Salon intégré",
    "room.why": "Un salon de groupe dans le tableau de bord : invitez votre conseiller ou votre client, l'assistant répond quand on l'appelle (@IA, @assistant ou le bouton).",
    "room.list": "Salons",
    "room.topic": "Sujet du nouveau salon",
    "room.create": "Créer un salon",
    "room.invite": "Inviter",
    "room.link": "Lien d'invitation",
    "room.copy": "Copier le lien d'invitation",
    "room.revoke": "Révoquer le lien",
    "room.members": "Participants",
    "room.placeholder": "Écrivez au salon… (@IA pour appeler l'assistant)",
    "room.ask": "Demander à l'assistant",
    "room.someone": "Participant",
    "room.owner": "propriétaire",
    "room.member": "membre",
    "room.leave": "Quitter le salon",
    "room.remove": "Retirer",
    "room.removeWho": "Retirer {name}",
    "room.openWho": "{title} — {people}",
    "room.lost": "Vous ne faites plus partie de ce salon.",
    "room.inviteReady": "Lien d'invitation prêt (valable jusqu'au {date}).",
    "room.copied": "Lien d'invitation copié.",
    "room.revoked": "Lien révoqué : il n'ouvre plus le salon.",
    "room.joined": "Vous avez rejoint le salon.",
    "room.inviteDead": "Ce lien d'invitation a expiré, a été révoqué ou n'existe pas.",
    "room.signIn": "Connectez-vous pour créer ou rejoindre un salon.",
    "group.button": "Salon ChatGPT de groupe",
    "group.heading": "Salon ChatGPT de groupe",
    "group.why": "Le salon de groupe s'ouvre dans ChatGPT, dans un nouvel onglet : vous y échangez à plusieurs avec l'assistant.",
    "group.label": "Lien du salon",
    "group.placeholder": "https://chatgpt.com/gg/…",
    "group.save": "Enregistrer",
    "group.reset": "Lien par défaut",
    "group.open": "Ouvrir le salon",
    "group.copy": "Copier le lien",
    "group.saved": "Lien enregistré sur cet appareil.",
    "group.copied": "Lien copié dans le presse-papiers.",
    "group.copyFailed": "Copie impossible : sélectionnez le lien et copiez-le à la main.",
    "group.invalid": "Lien refusé : seuls les liens https://chatgpt.com/… sont acceptés.",
    "group.none": "Aucun salon n'est configuré : collez le lien d'invitation de votre groupe ChatGPT.",
    "chat.heading": "Conversation avec l'assistant",
    "chat.conversations": "Conversations",
    "chat.logLabel": "Messages",
    "chat.new": "Nouvelle conversation",
    "chat.rename": "Renommer « {title} »",
    "chat.renameTitle": "Renommer la conversation",
    "chat.renameLabel": "Nouveau titre",
    "chat.renameSave": "Renommer",
    "chat.renameInvalid": "Le titre doit faire entre 1 et 200 caractères.",
    "chat.delete": "Supprimer « {title} »",
    "chat.deleteTitle": "Supprimer la conversation ?",
    "chat.deleteText": "« {title} » et tous ses messages seront supprimés définitivement.",
    "chat.deleteConfirm": "Supprimer",
    "chat.untitled": "Sans titre",
    "chat.emptyTitle": "Comment puis-je vous aider ?",
    "chat.empty": "Posez une question sur vos comptes, vos budgets ou le fonctionnement des placements.",
    "chat.noConversations": "Vos conversations apparaîtront ici.",
    "chat.suggestions": "Exemples de questions",
    "chat.suggest1": "Quelle différence entre un PEA et une assurance vie ?",
    "chat.suggest2": "Comment construire un budget mensuel ?",
    "chat.suggest3": "Que signifie le TAEG d'un crédit ?",
    "chat.inputLabel": "Votre message",
    "chat.placeholder": "Écrivez votre message…",
    "chat.hint": "Entrée pour envoyer, Maj+Entrée pour aller à la ligne.",
    "chat.send": "Envoyer",
    "chat.stop": "Arrêter la réponse",
    "chat.you": "Vous",
    "chat.assistant": "Assistant",
    "chat.copy": "Copier",
    "chat.copied": "Copié",
    "chat.copyFailed": "Copie impossible",
    "chat.regenerate": "Régénérer",
    "chat.stopped": "Réponse interrompue.",
    "chat.settings": "Consigne système",
    "chat.systemPrompt": "Consigne système (facultatif)",
    "chat.systemPromptHint": "Par exemple : « Réponds en termes simples. »",
    "chat.notSaved": "Cette réponse n'a pas été enregistrée dans l'historique.",
    "chat.historyOff": "L'historique des conversations n'est pas activé sur ce service : elles ne sont pas conservées.",
    "chat.thinking": "L'assistant rédige sa réponse…",
    "chat.jump": "Aller au dernier message",
    "chat.today": "Aujourd'hui",
    "chat.yesterday": "Hier",
    "search.label": "Rechercher dans les conversations",
    "search.placeholder": "Rechercher",
    "search.none": "Aucune conversation ne correspond à « {query} ».",
    "search.count": "{count} résultat(s)",
    "auth.signIn": "Se connecter",
    "auth.signOut": "Se déconnecter",
    "auth.signedIn": "Connecté",
    "auth.signedInAs": "Connecté : {email}",
    "auth.email": "Adresse e-mail",
    "auth.password": "Mot de passe",
    "auth.withPassword": "Connexion",
    "auth.magicLink": "Recevoir un lien de connexion",
    "auth.linkSent": "Lien envoyé : ouvrez l'e-mail pour vous connecter.",
    "auth.failed": "Connexion refusée : adresse e-mail ou mot de passe incorrect.",
    "auth.linkFailed": "Le lien n'a pas pu être envoyé. Vérifiez l'adresse et réessayez.",
    "auth.required": "Connectez-vous pour utiliser l'assistant.",
    "auth.token": "Jeton d'accès",
    "auth.tokenSave": "Se connecter",
    "auth.tokenWrong": "Jeton refusé : vérifiez-le et réessayez.",
    "auth.tokenHint": "Saisissez le jeton d'accès que vous a remis votre établissement.",
    "auth.tokenChecking": "Vérification…",
    "voice.start": "Démarrer l'assistant vocal",
    "voice.stop": "Arrêter l'assistant vocal",
    "voice.label": "Voix",
    "voice.labelActive": "Arrêter",
    "voice.idle": "",
    "voice.connecting": "Connexion…",
    "voice.listening": "À l'écoute",
    "voice.speaking": "L'assistant parle",
    "voice.stopped": "Assistant vocal arrêté",
    "voice.transcript": "Conversation vocale",
    "voice.you": "Vous",
    "voice.assistant": "Assistant",
    "voice.error.unavailable": "L'assistant vocal n'est pas disponible sur ce service.",
    "voice.error.microphone": "Micro refusé : autorisez le micro pour ce site dans votre navigateur.",
    "voice.error.key": "Session vocale refusée par le service. Réessayez plus tard.",
    "voice.error.signin": "Connectez-vous pour utiliser l'assistant vocal.",
    "voice.error.busy": "Trop de sessions vocales en peu de temps. Réessayez dans une minute.",
    "voice.error.network": "Connexion vocale impossible : vérifiez votre réseau.",
    "voice.error.unsupported": "Ce navigateur ne permet pas d'utiliser l'assistant vocal.",
    "error.invalid_json": "La demande n'a pas pu être lue par le service. Rechargez la page et réessayez.",
    "error.bad_http_request": "La demande n'a pas pu être lue par le service. Rechargez la page et réessayez.",
    "error.unauthorized": "Accès refusé : connectez-vous pour continuer.",
    "error.origin_not_allowed": "Ce site n'est pas autorisé à utiliser le service.",
    "error.invite_not_found": "Ce lien d'invitation a expiré, a été révoqué ou n'existe pas.",
    "error.member_not_found": "Cette personne ne fait pas partie du salon.",
    "error.not_found": "Cette page n'existe pas, ou elle est réservée aux administrateurs.",
    "error.sign_in_required": "Connectez-vous pour créer ou rejoindre un salon.",
    "error.owner_only": "Seul le propriétaire du salon peut faire cela.",
    "error.conversation_not_found": "Cette conversation n'existe plus.",
    "error.method_not_allowed": "Cette action n'est pas possible. Rechargez la page.",
    "error.payload_too_large": "Message trop long.",
    "error.request_timeout": "La demande a mis trop de temps à arriver au service. Réessayez.",
    "error.unsupported_media_type": "Le service n'a pas pu lire ce type de demande. Rechargez la page et réessayez.",
    "error.call_not_found": "Cette session vocale est terminée.",
    "error.validation_error": "Demande refusée par le service. Vérifiez votre saisie.",
    "error.validation_error.message": "Message vide ou trop long : il doit faire au plus {max} caractères.",
    "error.validation_error.title": "Le titre doit faire entre 1 et 200 caractères.",
    "error.validation_error.q": "Recherche trop longue (200 caractères au plus).",
    "error.validation_error.regenerate": "Il n'y a pas de réponse à régénérer dans cette conversation.",
    "error.rate_limited": "Trop de demandes. Réessayez dans {seconds} s.",
    "error.rate_limited.chat:minute": "Vous avez envoyé beaucoup de messages en une minute. Réessayez dans {seconds} s.",
    "error.rate_limited.chat:day": "Limite quotidienne de messages atteinte. Réessayez après {time}.",
    "error.rate_limited.tokens:day": "Volume quotidien de réponses atteint. Réessayez après {time}.",
    "error.rate_limited.realtime:minute": "Trop de sessions vocales en peu de temps. Réessayez dans {seconds} s.",
    "error.rate_limited.realtime:day": "Limite quotidienne de sessions vocales atteinte. Réessayez après {time}.",
    "error.rate_limited.global:chat:day": "Le service a atteint son plafond quotidien de messages, commun à tous ses utilisateurs. Réessayez après {time}.",
    "error.rate_limited.global:tokens:day": "Le service a atteint son volume quotidien de réponses, commun à tous ses utilisateurs. Réessayez après {time}.",
    "error.rate_limited.global:voice:day": "Le service a atteint son plafond quotidien de sessions vocales, commun à tous ses utilisateurs. Réessayez après {time}.",
    "error.misconfigured": "Le service est mal configuré. Prévenez votre contact technique.",
    "error.internal_error": "Une erreur inattendue est survenue. Réessayez.",
    "error.auth_not_configured": "Le service n'est pas encore ouvert. Prévenez votre contact technique.",
    "error.auth_unavailable": "La connexion ne peut pas être vérifiée pour le moment. Réessayez dans un instant.",
    "error.openai_not_configured": "L'assistant n'est pas encore activé sur ce service. Prévenez votre contact technique.",
    "error.history_disabled": "L'historique des conversations n'est pas conservé pour cet accès. Connectez-vous avec un compte pour le garder, si le service le propose.",
    "error.history_unavailable": "L'historique est indisponible pour le moment. Réessayez dans un instant.",
    "error.upstream_error": "L'assistant est indisponible pour le moment. Réessayez dans un instant.",
    "error.upstream_rate_limited": "L'assistant est très sollicité. Réessayez dans {seconds} s.",
    "error.upstream_quota": "L'assistant est momentanément suspendu. Prévenez votre contact technique.",
    "error.upstream_auth": "L'assistant ne peut pas se connecter à son fournisseur. Prévenez votre contact technique.",
    "error.upstream_model_unavailable": "L'assistant est indisponible pour le moment. Prévenez votre contact technique.",
    "error.upstream_rejected": "L'assistant n'a pas pu traiter ce message. Reformulez-le et réessayez.",
    "error.upstream_unreachable": "L'assistant est injoignable pour le moment. Réessayez dans un instant.",
    "error.upstream_bad_response": "La réponse de l'assistant était illisible. Réessayez.",
    "error.upstream_stream_interrupted": "La réponse a été coupée avant la fin. Réessayez.",
    "error.upstream_timeout": "L'assistant n'a pas répondu à temps. Réessayez.",
    "error.network": "Connexion au service impossible. Vérifiez votre réseau.",
    "error.unknown": "Une erreur est survenue. Réessayez.",
    "error.config": "Le service ne répond pas. Réessayez dans un instant.",
  },
  en: {
    "app.name": "Financial assistant",
    "app.title": "{name} — Assistant",
    "app.skip": "Skip to the message box",
    "lang.short": "FR",
    "lang.switchLabel": "Passer en français",
    "dialog.cancel": "Cancel",
    "dialog.close": "Close",
    "notice.ai": "You are talking with an artificial intelligence, not an adviser; it can make mistakes.",
    "notice.advice": "General information, not investment advice.",
    "notice.voice": "AI-generated voice.",
    "room.heading": "Built-in room",
    "room.why": "A group room inside the dashboard: invite your adviser or client; the assistant answers when called (@IA, @assistant or the button).",
    "room.list": "Rooms",
    "room.topic": "New room's topic",
    "room.create": "Create a room",
    "room.invite": "Invite",
    "room.link": "Invitation link",
    "room.copy": "Copy the invitation link",
    "room.revoke": "Revoke the link",
    "room.members": "People",
    "room.placeholder": "Write to the room… (@IA to call the assistant)",
    "room.ask": "Ask the assistant",
    "room.someone": "Someone",
    "room.owner": "owner",
    "room.member": "member",
    "room.leave": "Leave the room",
    "room.remove": "Remove",
    "room.removeWho": "Remove {name}",
    "room.openWho": "{title} — {people}",
    "room.lost": "You are no longer in this room.",
    "room.inviteReady": "Invitation link ready (valid until {date}).",
    "room.copied": "Invitation link copied.",
    "room.revoked": "Link revoked: it no longer opens the room.",
    "room.joined": "You joined the room.",
    "room.inviteDead": "This invitation link has expired, was revoked or does not exist.",
    "room.signIn": "Sign in to create or join a room.",
    "group.button": "ChatGPT group room",
    "group.heading": "ChatGPT group room",
    "group.why": "The group room opens in ChatGPT, in a new tab: there, several people talk with the assistant together.",
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
    "group.none": "No room is set up: paste your ChatGPT group's invitation link.",
    "chat.heading": "Conversation with the assistant",
    "chat.conversations": "Conversations",
    "chat.logLabel": "Messages",
    "chat.new": "New conversation",
    "chat.rename": "Rename “{title}”",
    "chat.renameTitle": "Rename the conversation",
    "chat.renameLabel": "New title",
    "chat.renameSave": "Rename",
    "chat.renameInvalid": "The title must be 1 to 200 characters long.",
    "chat.delete": "Delete “{title}”",
    "chat.deleteTitle": "Delete the conversation?",
    "chat.deleteText": "“{title}” and all its messages will be deleted for good.",
    "chat.deleteConfirm": "Delete",
    "chat.untitled": "Untitled",
    "chat.emptyTitle": "How can I help?",
    "chat.empty": "Ask about your accounts, your budgets or how investments work.",
    "chat.noConversations": "Your conversations will appear here.",
    "chat.suggestions": "Example questions",
    "chat.suggest1": "What is the difference between a PEA and a life insurance contract?",
    "chat.suggest2": "How do I build a monthly budget?",
    "chat.suggest3": "What does a loan's APR mean?",
    "chat.inputLabel": "Your message",
    "chat.placeholder": "Write your message…",
    "chat.hint": "Enter to send, Shift+Enter for a new line.",
    "chat.send": "Send",
    "chat.stop": "Stop the reply",
    "chat.you": "You",
    "chat.assistant": "Assistant",
    "chat.copy": "Copy",
    "chat.copied": "Copied",
    "chat.copyFailed": "Could not copy",
    "chat.regenerate": "Regenerate",
    "chat.stopped": "Reply stopped.",
    "chat.settings": "System prompt",
    "chat.systemPrompt": "System prompt (optional)",
    "chat.systemPromptHint": "For example: “Answer in plain words.”",
    "chat.notSaved": "This reply was not saved to the history.",
    "chat.historyOff": "Conversation history is not enabled on this service: conversations are not kept.",
    "chat.thinking": "The assistant is writing…",
    "chat.jump": "Go to the latest message",
    "chat.today": "Today",
    "chat.yesterday": "Yesterday",
    "search.label": "Search the conversations",
    "search.placeholder": "Search",
    "search.none": "No conversation matches “{query}”.",
    "search.count": "{count} result(s)",
    "auth.signIn": "Sign in",
    "auth.signOut": "Sign out",
    "auth.signedIn": "Signed in",
    "auth.signedInAs": "Signed in: {email}",
    "auth.email": "Email address",
    "auth.password": "Password",
    "auth.withPassword": "Sign in",
    "auth.magicLink": "Email me a sign-in link",
    "auth.linkSent": "Link sent: open the email to sign in.",
    "auth.failed": "Sign-in refused: wrong email address or password.",
    "auth.linkFailed": "The link could not be sent. Check the address and try again.",
    "auth.required": "Sign in to use the assistant.",
    "auth.token": "Access token",
    "auth.tokenSave": "Sign in",
    "auth.tokenWrong": "Token refused: check it and try again.",
    "auth.tokenHint": "Enter the access token your firm gave you.",
    "auth.tokenChecking": "Checking…",
    "voice.start": "Start the voice assistant",
    "voice.stop": "Stop the voice assistant",
    "voice.label": "Voice",
    "voice.labelActive": "Stop",
    "voice.idle": "",
    "voice.connecting": "Connecting…",
    "voice.listening": "Listening",
    "voice.speaking": "The assistant is speaking",
    "voice.stopped": "Voice assistant stopped",
    "voice.transcript": "Voice conversation",
    "voice.you": "You",
    "voice.assistant": "Assistant",
    "voice.error.unavailable": "The voice assistant is not available on this service.",
    "voice.error.microphone": "Microphone refused: allow the microphone for this site in your browser.",
    "voice.error.key": "The service refused the voice session. Try again later.",
    "voice.error.signin": "Sign in to use the voice assistant.",
    "voice.error.busy": "Too many voice sessions in a short time. Try again in a minute.",
    "voice.error.network": "Could not connect the voice session: check your network.",
    "voice.error.unsupported": "This browser cannot run the voice assistant.",
    "error.invalid_json": "The service could not read the request. Reload the page and try again.",
    "error.bad_http_request": "The service could not read the request. Reload the page and try again.",
    "error.unauthorized": "Access refused: sign in to continue.",
    "error.origin_not_allowed": "This site is not allowed to use the service.",
    "error.invite_not_found": "This invitation link has expired, was revoked or does not exist.",
    "error.member_not_found": "This person is not in the room.",
    "error.not_found": "This page does not exist, or it is for administrators only.",
    "error.sign_in_required": "Sign in to create or join a room.",
    "error.owner_only": "Only the room's owner can do that.",
    "error.conversation_not_found": "This conversation no longer exists.",
    "error.method_not_allowed": "This action is not possible. Reload the page.",
    "error.payload_too_large": "Message too long.",
    "error.request_timeout": "The request took too long to reach the service. Try again.",
    "error.unsupported_media_type": "The service could not read this kind of request. Reload the page and try again.",
    "error.call_not_found": "This voice session has ended.",
    "error.validation_error": "The service refused the request. Check what you typed.",
    "error.validation_error.message": "Empty or too long message: at most {max} characters.",
    "error.validation_error.title": "The title must be 1 to 200 characters long.",
    "error.validation_error.q": "Search too long (200 characters at most).",
    "error.validation_error.regenerate": "There is no reply to regenerate in this conversation.",
    "error.rate_limited": "Too many requests. Try again in {seconds} s.",
    "error.rate_limited.chat:minute": "You sent many messages in one minute. Try again in {seconds} s.",
    "error.rate_limited.chat:day": "Daily message limit reached. Try again after {time}.",
    "error.rate_limited.tokens:day": "Daily reply allowance reached. Try again after {time}.",
    "error.rate_limited.realtime:minute": "Too many voice sessions in a short time. Try again in {seconds} s.",
    "error.rate_limited.realtime:day": "Daily voice session limit reached. Try again after {time}.",
    "error.rate_limited.global:chat:day": "The service has reached its daily message ceiling, shared by all its users. Try again after {time}.",
    "error.rate_limited.global:tokens:day": "The service has reached its daily reply allowance, shared by all its users. Try again after {time}.",
    "error.rate_limited.global:voice:day": "The service has reached its daily voice session ceiling, shared by all its users. Try again after {time}.",
    "error.misconfigured": "The service is misconfigured. Tell your technical contact.",
    "error.internal_error": "Something unexpected went wrong. Try again.",
    "error.auth_not_configured": "The service is not open yet. Tell your technical contact.",
    "error.auth_unavailable": "Your sign-in cannot be checked right now. Try again in a moment.",
    "error.openai_not_configured": "The assistant is not enabled on this service yet. Tell your technical contact.",
    "error.history_disabled": "Conversation history is not kept for this access. Sign in with an account to keep it, if the service offers one.",
    "error.history_unavailable": "The history is unavailable right now. Try again in a moment.",
    "error.upstream_error": "The assistant is unavailable right now. Try again in a moment.",
    "error.upstream_rate_limited": "The assistant is very busy. Try again in {seconds} s.",
    "error.upstream_quota": "The assistant is suspended for now. Tell your technical contact.",
    "error.upstream_auth": "The assistant cannot connect to its provider. Tell your technical contact.",
    "error.upstream_model_unavailable": "The assistant is unavailable right now. Tell your technical contact.",
    "error.upstream_rejected": "The assistant could not handle this message. Rephrase it and try again.",
    "error.upstream_unreachable": "The assistant cannot be reached right now. Try again in a moment.",
    "error.upstream_bad_response": "The assistant's reply could not be read. Try again.",
    "error.upstream_stream_interrupted": "The reply was cut off before the end. Try again.",
    "error.upstream_timeout": "The assistant did not answer in time. Try again.",
    "error.network": "Could not reach the service. Check your network.",
    "error.unknown": "Something went wrong. Try again.",
    "error.config": "The service is not answering. Try again in a moment.",
  },
};

const STORAGE_KEY = "dashboard.lang";
let current = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "fr";
const listeners = new Set();

export function language() {
  return current;
}

export function locale() {
  return current === "en" ? "en-GB" : "fr-FR";
}

export function has(key) {
  return key in STRINGS[current];
}

export function t(key, values = {}) {
  const text = STRINGS[current][key] ?? STRINGS.fr[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

// Set an element's text from a key, and remember it so that translate() re-renders it in the next language.
export function say(element, key, values = {}) {
  if (!key) {
    delete element.dataset.i18n;
    delete element.dataset.i18nValues;
    element.textContent = "";
    return;
  }
  element.dataset.i18n = key;
  element.dataset.i18nValues = JSON.stringify(values);
  element.textContent = t(key, values);
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

// Elements carry data-i18n="key" (and data-i18n-values) for their text, data-i18n-attr="attr:key;attr:key" for
// attributes, and data-time (an ISO date) for a time written in the current language.
export function translate(root) {
  document.documentElement.lang = current;
  root.querySelectorAll("[data-i18n]").forEach((element) => {
    const values = element.dataset.i18nValues ? JSON.parse(element.dataset.i18nValues) : {};
    element.textContent = t(element.dataset.i18n, values);
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((element) => {
    for (const pair of element.dataset.i18nAttr.split(";")) {
      const [attribute, key] = pair.split(":");
      element.setAttribute(attribute, t(key));
    }
  });
  root.querySelectorAll("time[data-style]").forEach((element) => {
    element.textContent = formatTime(element.dateTime, element.dataset.style);
  });
}

// "14:05", or for the list: the time today, "Hier"/"Yesterday", else "28 nov." (with the year when not this year).
export function formatTime(iso, style = "time") {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  if (style === "time") return time;
  const now = new Date();
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(now) - day(date)) / 86400000);
  if (days === 0) return time;
  if (days === 1) return t("chat.yesterday");
  const options = { day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return date.toLocaleDateString(locale(), options);
}

export function timeElement(iso, style = "time") {
  const element = document.createElement("time");
  element.dateTime = iso;
  element.dataset.style = style;
  element.textContent = formatTime(iso, style);
  element.title = new Date(iso).toLocaleString(locale());
  return element;
}
