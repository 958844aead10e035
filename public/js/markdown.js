// Markdown to DOM nodes, built with textContent only: a hostile reply stays text, never HTML.
import { t } from "./i18n.js";

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*)|(\[[^\]\n]+\]\([^)\s]+\))/g;
const SAFE_LINK = /^(https?:|mailto:)/i;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

function element(tag, children = [], text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const child of children) node.append(child);
  return node;
}

export function inline(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    const [token] = match;
    if (match[1]) nodes.push(element("code", [], token.slice(1, -1)));
    else if (match[2]) nodes.push(element("strong", inline(token.slice(2, -2))));
    else if (match[3]) nodes.push(element("em", inline(token.slice(1, -1))));
    else {
      const [, label, href] = token.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      if (SAFE_LINK.test(href)) {
        const link = element("a", inline(label));
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        nodes.push(link);
      } else {
        nodes.push(document.createTextNode(token));
      }
    }
    last = match.index + token.length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
}

// A GitHub-style table: a header row, a |---|---| rule (colons set the alignment), then body rows.
function table(header, rule, rows) {
  const align = cells(rule).map((cell) => (cell.endsWith(":") ? (cell.startsWith(":") ? "center" : "right") : ""));
  const row = (line, tag) => element("tr", cells(line).slice(0, align.length).map((text, index) => {
    const cell = element(tag, inline(text));
    if (align[index]) cell.dataset.align = align[index];
    if (tag === "th") cell.scope = "col";
    return cell;
  }));
  const node = element("table", [element("thead", [row(header, "th")]), element("tbody", rows.map((r) => row(r, "td")))]);
  return scrollable(element("div", [node]), "chat.tableLabel");
}

// A box that may scroll sideways: reachable by keyboard (arrows scroll it) and named for screen readers.
function scrollable(node, key) {
  node.tabIndex = 0;
  node.setAttribute("role", "region");
  node.setAttribute("aria-label", t(key));
  node.dataset.i18nAttr = `aria-label:${key}`;
  return node;
}

// The heading levels a reply uses, each mapped in order from h3 (the page has h1, h2): no level is skipped.
function headingLevels(lines) {
  const used = [...new Set(lines.map((line) => line.match(/^(#{1,6})\s+/)).filter(Boolean).map((m) => m[1].length))];
  return new Map(used.sort().map((level, index) => [level, Math.min(6, 3 + index)]));
}

export function render(text) {
  const fragment = document.createDocumentFragment();
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const levels = headingLevels(lines);
  let paragraph = [];
  let list = null;
  const flush = () => {
    if (paragraph.length) {
      const p = element("p");
      paragraph.forEach((line, index) => {
        if (index) p.append(element("br"));
        p.append(...inline(line));
      });
      fragment.append(p);
      paragraph = [];
    }
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = line.match(/^```(\S*)\s*$/);
    if (fence) {
      flush();
      const code = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) code.push(lines[i]);
      fragment.append(scrollable(element("pre", [element("code", [], code.join("\n"))]), "chat.codeLabel"));
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      flush();
      const rows = [];
      let j = i + 2;
      for (; j < lines.length && lines[j].includes("|") && lines[j].trim(); j++) rows.push(lines[j]);
      const wrap = table(line, lines[i + 1], rows);
      wrap.className = "table-wrap";
      fragment.append(wrap);
      i = j - 1;
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    const bullet = line.match(/^\s*[-*]\s+(.*)$/);
    const numbered = line.match(/^\s*\d+[.)]\s+(.*)$/);
    if (heading) {
      flush();
      fragment.append(element(`h${levels.get(heading[1].length)}`, inline(heading[2])));
    } else if (bullet || numbered) {
      if (paragraph.length) flush();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = element(tag);
        fragment.append(list);
      }
      list.append(element("li", inline((bullet || numbered)[1])));
    } else if (!line.trim()) {
      flush();
    } else {
      list = null;
      paragraph.push(line);
    }
  }
  flush();
  return fragment;
}
