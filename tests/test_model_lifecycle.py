"""Our default models have no announced shutdown in the installed openai SDK's "Deprecated values" notes."""

import re
from functools import lru_cache
from pathlib import Path

import pytest

from lib import settings

ITEM = re.compile(r"^\s*- (.+?)(?=^\s*- |\Z)", re.S | re.M)


@lru_cache(maxsize=1)
def deprecation_notes() -> dict[str, str]:
    """Every model id the SDK's types call deprecated, with its note ("Announced shutdown date: ...")."""
    import openai

    notes: dict[str, str] = {}
    for path in Path(openai.__file__).parent.joinpath("types").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"Deprecated values:\s*\n(.*?)(?:\"\"\"|\n\s*\n)", text, re.S):
            for item in ITEM.findall(block):
                names, _, note = item.partition(":")
                for name in re.findall(r'"([^"]+)"', names):
                    notes[name] = " ".join(note.split())
    return notes


def shutdown_date(model: str) -> str | None:
    note = deprecation_notes().get(model)
    if note is None:
        return None
    found = re.search(r"shutdown date: (\d{4}-\d{2}-\d{2})", note)
    return found.group(1) if found else note


def test_the_notes_are_read_at_all():
    """The reader understands the SDK's format: it finds shutdowns the SDK is known to announce."""
    assert shutdown_date("gpt-4o") == "2027-01-14"
    assert shutdown_date("gpt-realtime") == "2027-01-20"
    assert shutdown_date("whisper-1") == "2027-02-26"


@pytest.mark.parametrize("setting, model", [
    ("CHAT_MODEL", settings.chat({}).model),
    ("REALTIME_MODEL", settings.realtime({}).model),
    ("REALTIME_TRANSCRIPTION_MODEL", settings.realtime({}).transcription_model),
])
def test_no_default_model_has_an_announced_shutdown(setting, model):
    assert shutdown_date(model) is None, (
        f"{setting} defaults to {model}, which the installed openai SDK marks deprecated "
        f"({deprecation_notes()[model]}): pick a current model (see README, Models)")


def test_the_env_example_models_are_current_too():
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    models = dict(re.findall(r"^(CHAT_MODEL|REALTIME_MODEL|REALTIME_TRANSCRIPTION_MODEL)=(\S+)", example, re.M))
    assert set(models) == {"CHAT_MODEL", "REALTIME_MODEL", "REALTIME_TRANSCRIPTION_MODEL"}
    assert {name: shutdown_date(model) for name, model in models.items()} == dict.fromkeys(models)
