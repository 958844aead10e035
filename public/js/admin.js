// The admin page: usage and cost in euros (today, this month, a chosen range, today's ceilings, CSV), the audit
// trail (filtered by day and kind, CSV) and the feedback on replies (by day, CSV), for admins only; anyone else is told so. Also the admin's own data.
import { blob, request, useCredentials } from "./api.js";
import { setupAuth } from "./auth.js";
import { setupBrand } from "./brand.js";
import "./controls-strings.js";
import { describe, show } from "./errors.js";
import { language, locale, onLanguageChange, say, setLanguage, t, translate } from "./i18n.js";
import { setupMyData } from "./my-data.js";

const COLUMNS = [
  ["messages", "admin.messages"], ["input_tokens", "admin.inputTokens"], ["output_tokens", "admin.outputTokens"],
  ["voice_sessions", "admin.voiceSessions"], ["voice_seconds", "admin.voiceMinutes"], ["refusals", "admin.refusals"],
  ["costEur", "admin.cost"],
];
const $ = (id) => document.getElementById(id);
let shown = { usage: null, audit: null, feedback: null };

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function header(tag, key) {
  const element = document.createElement(tag);
  say(element, key);
  return element;
}

function value(column, number) {
  if (column === "costEur") {
    return number === null ? t("admin.noPrice")
      : new Intl.NumberFormat(locale(), { style: "currency", currency: "EUR", maximumFractionDigits: 4 }).format(number);
  }
  if (column === "voice_seconds") return new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(number / 60);
  return new Intl.NumberFormat(locale()).format(number);
}

function usageTable(id, titleKey, table, values = {}) {
  const wrap = document.createElement("section");
  wrap.id = id;
  const title = document.createElement("h4");
  say(title, titleKey, values);
  const scroller = document.createElement("div");
  scroller.className = "admin-table-wrap";
  scroller.tabIndex = 0;  // a table wider than the screen scrolls from the keyboard too
  if (!table.people.length) {
    const empty = document.createElement("p");
    say(empty, "admin.nobody");
    wrap.append(title, empty);
    return wrap;
  }
  const element = document.createElement("table");
  const head = document.createElement("tr");
  head.append(header("th", "admin.person"), ...COLUMNS.map(([, key]) => header("th", key)));
  element.createTHead().append(head);
  const body = element.createTBody();
  const line = (person, name) => {
    const row = document.createElement("tr");
    row.append(name, ...COLUMNS.map(([column]) => cell("td", value(column, person[column]))));
    return row;
  };
  for (const person of table.people) body.append(line(person, cell("td", person.name || person.userId)));
  element.createTFoot().append(line(table.total, header("td", "admin.total")));
  scroller.append(element);
  wrap.append(title, scroller);
  return wrap;
}

function renderUsage(report) {
  const ceilings = report.ceilings.map((ceiling) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    say(label, `admin.ceiling.${ceiling.limit}`);
    item.append(label, " ");
    if (!ceiling.max) {
      const off = document.createElement("span");
      say(off, "admin.ceilingOff");
      item.append(off);
    } else {
      const meter = document.createElement("meter");
      meter.min = 0;
      meter.max = ceiling.max;
      meter.value = ceiling.used;
      meter.high = ceiling.max * 0.8;
      item.append(meter, ` ${value("messages", ceiling.used)} / ${value("messages", ceiling.max)}`);
    }
    item.dataset.limit = ceiling.limit;
    return item;
  });
  $("usage-ceilings").replaceChildren(...ceilings);
  $("usage-tables").replaceChildren(usageTable("usage-today", "admin.today", report.today),
    usageTable("usage-month", "admin.month", report.month),
    usageTable("usage-range", "admin.range", report.range));
  $("usage-from").value = report.range.from;
  $("usage-to").value = report.range.to;
}

function renderAudit(trail) {
  const select = $("audit-kind");
  if (!select.options.length) {
    const all = document.createElement("option");
    all.value = "";
    say(all, "admin.allKinds");
    select.append(all, ...trail.kinds.map((kind) => Object.assign(document.createElement("option"), { value: kind, textContent: kind })));
  }
  $("audit-from").value = trail.from;
  $("audit-to").value = trail.to;
  select.value = trail.kind || "";
  if (!trail.events.length) {
    const empty = document.createElement("p");
    say(empty, "admin.noEvents");
    return $("audit-table").replaceChildren(empty);
  }
  const element = document.createElement("table");
  const head = document.createElement("tr");
  head.append(...["admin.at", "admin.kind", "admin.actor", "admin.target", "admin.detail"].map((key) => header("th", key)));
  element.createTHead().append(head);
  const body = element.createTBody();
  for (const event of trail.events) {
    const row = document.createElement("tr");
    row.dataset.kind = event.kind;
    row.append(cell("td", new Date(event.at).toLocaleString(locale())), cell("td", event.kind),
      cell("td", event.actor, "hash"), cell("td", event.target, "hash"),
      cell("td", Object.entries(event.detail).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", "), "detail"));
    body.append(row);
  }
  const scroller = document.createElement("div");
  scroller.className = "admin-table-wrap";
  scroller.tabIndex = 0;  // a table wider than the screen scrolls from the keyboard too
  scroller.append(element);
  $("audit-table").replaceChildren(scroller);
}

function renderFeedback(found) {
  $("feedback-from").value = found.from;
  $("feedback-to").value = found.to;
  say($("feedback-summary"), "admin.feedbackSummary", { up: found.up, down: found.down });
  if (!found.feedback.length) {
    const empty = document.createElement("p");
    say(empty, "admin.noFeedback");
    return $("feedback-table").replaceChildren(empty);
  }
  const element = document.createElement("table");
  const head = document.createElement("tr");
  head.append(...["admin.at", "admin.rating", "admin.comment", "admin.person", "admin.reply"].map((key) => header("th", key)));
  element.createTHead().append(head);
  const body = element.createTBody();
  for (const row of found.feedback) {
    const line = document.createElement("tr");
    line.dataset.rating = row.rating;
    const rating = document.createElement("td");
    say(rating, row.rating === "up" ? "admin.up" : "admin.down");
    line.append(cell("td", new Date(row.at).toLocaleString(locale())), rating, cell("td", row.comment, "detail"),
      cell("td", row.name || row.user_id), cell("td", `${row.conversation_id} #${row.message_id}`, "hash"));
    body.append(line);
  }
  const scroller = document.createElement("div");
  scroller.className = "admin-table-wrap";
  scroller.tabIndex = 0;  // a table wider than the screen scrolls from the keyboard too
  scroller.append(element);
  $("feedback-table").replaceChildren(scroller);
}

function query(fields) {
  const params = new URLSearchParams();
  for (const [name, id] of fields) if ($(id).value) params.set(name, $(id).value);
  return params;
}

const usageQuery = () => query([["from", "usage-from"], ["to", "usage-to"]]);
const auditQuery = () => query([["from", "audit-from"], ["to", "audit-to"], ["kind", "audit-kind"]]);
const feedbackQuery = () => query([["from", "feedback-from"], ["to", "feedback-to"]]);

async function load() {
  show($("admin-error"), null);
  try {
    shown.usage = await request("GET", `/api/admin/usage?${usageQuery()}`);
    shown.audit = await request("GET", `/api/admin/audit?${auditQuery()}`);
    shown.feedback = await request("GET", `/api/admin/feedback?${feedbackQuery()}`);
  } catch (error) {
    $("admin-usage").hidden = $("admin-audit").hidden = $("admin-feedback").hidden = true;
    if (error.status === 404) return show($("admin-denied"), { key: "admin.denied", values: {} });
    return show($("admin-error"), describe(error));
  }
  show($("admin-denied"), null);
  $("admin-usage").hidden = $("admin-audit").hidden = $("admin-feedback").hidden = false;
  renderUsage(shown.usage);
  renderAudit(shown.audit);
  renderFeedback(shown.feedback);
}

async function download(path, name) {
  try {
    const file = await blob(path);
    const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(file), download: name });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    show($("admin-error"), describe(error));
  }
}

function setupForms() {
  $("usage-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await load();
  });
  $("audit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await load();
  });
  $("usage-csv").addEventListener("click", () => {
    const params = usageQuery();
    params.set("format", "csv");
    download(`/api/admin/usage?${params}`, "usage.csv");
  });
  $("feedback-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await load();
  });
  $("feedback-csv").addEventListener("click", () => {
    const params = feedbackQuery();
    params.set("format", "csv");
    download(`/api/admin/feedback?${params}`, "feedback.csv");
  });
  $("audit-csv").addEventListener("click", () => {
    const params = auditQuery();
    params.set("format", "csv");
    download(`/api/admin/audit?${params}`, "audit.csv");
  });
  onLanguageChange(() => {
    if (shown.usage) renderUsage(shown.usage);
    if (shown.audit) renderAudit(shown.audit);
    if (shown.feedback) renderFeedback(shown.feedback);
  });
}

function setupLanguage() {
  const button = $("lang-button");
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
  } catch (error) {
    show($("admin-error"), describe(error));
    return;
  }
  setupBrand(config);
  const title = () => {
    document.title = t("admin.title", { name: (config.brand && config.brand.name) || t("app.name") });
  };
  title();
  onLanguageChange(title);
  const auth = await setupAuth(config, () => load());
  useCredentials(auth.token);
  setupForms();
  setupMyData(config);
  await load();
  document.body.dataset.ready = "true";
}

main();
