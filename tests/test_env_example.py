""".env.example copied as is to .env gives a working local app: open API, history on, voice kept local."""

import os

from dev.server import LOCAL_PEOPLE, load_dotenv
from lib import settings
from tests.helpers import ROOT


def test_the_example_file_as_a_dotenv_gives_a_working_local_app(monkeypatch):
    environ = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME")}
    monkeypatch.setattr(os, "environ", environ)
    load_dotenv(ROOT / ".env.example")
    assert settings.access().allow_anonymous is True  # the API is open locally
    assert settings.history().backend == "sqlite"  # and history is on
    assert [name for name, _ in settings.access().named_tokens] == ["Camille", "Conseiller"]  # two people for a room
    assert "REALTIME_CALLS_URL" not in environ  # so the dev server can point voice at its offline stand-in
    assert not environ.get("OPENAI_API_KEY")  # so it starts the offline OpenAI stand-in
    for read in (settings.chat, settings.limits, settings.realtime, settings.dashboard, settings.openai,
                 settings.controls):
        read()  # every setting in the file is valid as written


def test_every_local_only_default_is_marked():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for name in ("ALLOW_ANONYMOUS=1", "HISTORY_DB=data/history.sqlite3",
                 f"DASHBOARD_TOKENS={LOCAL_PEOPLE}"):  # the dev server's own default too
        at = lines.index(name)
        assert any("LOCAL ONLY" in line for line in lines[at - 3:at]), name
