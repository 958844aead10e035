"""What history gives a turn: its conversation's title, and the recent messages that fit the context budget."""

from __future__ import annotations

from lib.stores.base import ROLES

CONTEXT_MESSAGES = 200  # the most recent messages loaded before trimming to the character budget
TITLE_CHARS = 80


def title_for(message: str) -> str:
    """A conversation's title: its first message on one line, cut to 80 characters."""
    line = " ".join(message.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


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
