"""What history gives a turn: its conversation's title, and the recent messages that fit the context budget."""

from __future__ import annotations

import re

from lib.stores.base import ROLES

CONTEXT_MESSAGES = 200  # the most recent messages loaded before trimming to the character budget
TITLE_CHARS = 80


_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE = re.compile(r"^[\s|:-]+$")
_MARKS = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [words](link) and images: the words
    (re.compile(r"^\s{0,3}(#{1,6}|>+|[-*+]|\d+[.)])\s+"), ""),  # heading, quote, list marks
    (re.compile(r"(\*\*|__|\*|`+|~~)"), ""),  # emphasis and code marks
    (re.compile(r"\s*\|\s*"), " "),  # table pipes
]


def _plain(message: str) -> str:
    """The message's words without Markdown: no fences, no table rules or pipes, no emphasis or heading marks."""
    lines = []
    for line in message.splitlines():
        if _FENCE.match(line) or (_TABLE_RULE.match(line) and "-" in line):
            continue
        for pattern, replacement in _MARKS:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return " ".join(" ".join(lines).split())


def title_for(message: str) -> str:
    """A conversation's title: its first message as plain words on one line, cut on a word to 80 characters."""
    line = _plain(message) or " ".join(message.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[: TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= TITLE_CHARS // 2:  # cut on a word unless that loses half the room
        cut = cut[:space]
    return cut.rstrip() + "…"


def fit_to_budget(messages: list[dict], max_chars: int) -> list[dict]:
    """The most recent messages whose contents add up to at most max_chars, as OpenAI chat messages (with their
    `name`, in a room); only user and assistant messages are ever replayed, whatever a store holds, and never a
    reply still being written. The first message that would pass the budget ends the context, however large:
    what one question reads stays bounded."""
    kept: list[dict] = []
    used = 0
    for message in reversed(messages):
        if message.get("role") not in ROLES or message.get("status") == "writing":
            continue
        used += len(message["content"])
        if used > max_chars:
            break
        kept.append({"role": message["role"], "content": message["content"],
                     **({"name": message["name"]} if message.get("name") else {})})
    kept.reverse()
    while kept and kept[0]["role"] == "assistant":  # never open the context with a reply to nothing
        kept.pop(0)
    return kept
