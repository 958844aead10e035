"""The client's rights over their data (GDPR arts. 15, 17, 20): everything kept about them in one download (JSON
and Markdown), and erasing it all while the rooms they were in keep what others wrote."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timezone

from lib import audit
from lib.history import History
from lib.validate import Body, Field

ERASE_BODY = Body(dict, confirm=Field(str, required=True, choices=("erase",)))
FILE_STEM = "mes-donnees"


def collect(history: History, today: date | None = None) -> dict:
    """What the server keeps about the caller: their conversations with every message, what they wrote in others'
    rooms, their ratings of replies, and their usage; the export is audited."""
    caller = history.caller

    def gather(store):
        kept = store.export_user(caller.user_id)
        return {**kept, "feedback": store.user_feedback(caller.user_id), "usage": store.usage("0001-01-01", (today or date.today()).isoformat(), caller.user_id)}

    data = {"exportedAt": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "person": {"userId": caller.user_id, "name": caller.name}, **history.run(gather)}
    audit.record(history, "data_exported", conversations=len(data["conversations"]))
    return data


def archive(data: dict) -> bytes:
    """One download: a zip of mes-donnees.json (everything, machine-readable) and mes-donnees.md (readable)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{FILE_STEM}.json", json.dumps(data, ensure_ascii=False, indent=2))
        bundle.writestr(f"{FILE_STEM}.md", markdown(data))
    return out.getvalue()


def markdown(data: dict) -> str:
    """The export as a person reads it: each conversation, then their words in others' rooms, then usage."""
    person = data["person"]
    lines = [f"# Mes données — {person['name'] or person['userId']}", "", f"Exporté le {data['exportedAt']}.", ""]
    for conversation in data["conversations"]:
        lines += [f"## {conversation['title'] or '(sans titre)'}", "", f"Créée le {conversation['created_at']}.", ""]
        for message in conversation["messages"]:
            who = "Assistant" if message["role"] == "assistant" else (message.get("author_name") or "Moi")
            lines += [f"**{who}** — {message['created_at']}", "", message["content"], ""]
    if data["roomMessages"]:
        lines += ["## Mes messages dans les salons d'autres personnes", ""]
        for message in data["roomMessages"]:
            lines += [f"- {message['created_at']} : {message['content']}"]
        lines += [""]
    if data["feedback"]:
        lines += ["## Mes avis sur les réponses", ""]
        lines += [f"- {f['updated_at']} : {'👍' if f['rating'] == 'up' else '👎'} réponse {f['message_id']}"
                  + (f" — {f['comment']}" if f["comment"] else "") for f in data["feedback"]]
        lines += [""]
    if data["usage"]:
        lines += ["## Mon utilisation", "", "| jour | modèle | messages | jetons entrée | jetons sortie | voix (s) |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {u['day']} | {u['model']} | {u['messages']} | {u['input_tokens']} | {u['output_tokens']} | "
                  f"{u['voice_seconds']} |" for u in data["usage"]]
    return "\n".join(lines) + "\n"


def erase(history: History, body: dict) -> dict:
    """Erase everything of the caller's ({"confirm": "erase"}): their conversations (a room others are in stays,
    without their words), their words in others' rooms, their memberships, calls, ratings and usage; audited."""
    ERASE_BODY.parse(body)
    user_id = history.caller.user_id
    erased = history.run(lambda store: {**store.erase_user(user_id), "feedback": store.erase_feedback(user_id)})
    audit.record(history, "data_erased", **erased)
    return {"erased": True, **erased}
