// Markdown to DOM nodes, built with textContent only: a hostile reply stays text, never HTML.

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*)|(\[[^\]\n]+\]\([^)\s]+\))/g;
const SAFE_LINK = /^(https?:|mailto:)/i;

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

export function render(text) {
  const fragment = document.createDocumentFragment();
  const lines = text.replace(/\r\n/g, "\n").split("\n");
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
      fragment.append(element("pre", [element("code", [], code.join("\n"))]));
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    const bullet = line.match(/^\s*[-*]\s+(.*)$/);
    const numbered = line.match(/^\s*\d+[.)]\s+(.*)$/);
    if (heading) {
      flush();
      fragment.append(element(`h${Math.min(6, heading[1].length + 2)}`, inline(heading[2])));
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
