"""Settings are read and validated in one place; a bad value names its setting."""

import pytest

from lib import settings
from lib.errors import ConfigError


def test_defaults():
    chat = settings.chat({})
    assert (chat.model, chat.allowed_models, chat.max_message_chars, chat.system_prompt) == ("gpt-5.5", ("gpt-5.5",), 8000, None)
    assert settings.openai({}).timeout == 20.0
    access = settings.access({})
    assert (access.dashboard_token, access.allow_anonymous, access.allowed_origins) == (None, False, ())


def test_the_default_model_is_always_allowed():
    assert settings.chat({"CHAT_MODEL": "gpt-4o-mini", "CHAT_ALLOWED_MODELS": "gpt-4.1"}).allowed_models == ("gpt-4o-mini", "gpt-4.1")


@pytest.mark.parametrize("name, value, reader", [
    ("ALLOW_ANONYMOUS", "maybe", settings.access),
    ("ALLOWED_ORIGINS", "*", settings.access),
    ("OPENAI_TIMEOUT_SECONDS", "0", settings.openai),
    ("OPENAI_TIMEOUT_SECONDS", "120", settings.openai),
    ("CHAT_MAX_MESSAGE_CHARS", "-1", settings.chat),
    ("CHAT_MAX_MESSAGE_CHARS", "many", settings.chat),
    ("DASHBOARD_SUBTITLE_FR", "x" * 201, settings.dashboard),
    ("DASHBOARD_EXAMPLES_EN", "a|b|c|d|e", settings.dashboard),
])
def test_a_bad_value_is_a_config_error_naming_the_setting(name, value, reader):
    with pytest.raises(ConfigError) as raised:
        reader({name: value})
    assert raised.value.extra["setting"] == name
    assert name in raised.value.message


def test_origins_are_exact_and_trailing_slashes_dropped():
    assert settings.access({"ALLOWED_ORIGINS": "https://a.example/, https://b.example"}).allowed_origins == (
        "https://a.example", "https://b.example")


def test_reasoning_effort_is_sent_only_when_set():
    assert settings.chat({}).completion_options() == {"max_completion_tokens": 4096}
    assert settings.chat({"CHAT_REASONING_EFFORT": "low"}).completion_options() == {
        "max_completion_tokens": 4096, "reasoning_effort": "low"}


def test_an_unknown_reasoning_effort_is_a_config_error():
    with pytest.raises(ConfigError) as raised:
        settings.chat({"CHAT_REASONING_EFFORT": "extreme"})
    assert raised.value.extra["setting"] == "CHAT_REASONING_EFFORT"


def test_settings_from_the_environment_are_read_again_only_when_it_changes(monkeypatch):
    monkeypatch.setenv("CHAT_MAX_MESSAGE_CHARS", "100")
    first = settings.chat()
    assert first.max_message_chars == 100
    assert settings.chat() is first  # unchanged environment: not parsed again on the next request
    monkeypatch.setenv("CHAT_MAX_MESSAGE_CHARS", "200")
    assert settings.chat().max_message_chars == 200
    monkeypatch.delenv("CHAT_MAX_MESSAGE_CHARS")
    assert settings.chat().max_message_chars == 8000


def test_a_bad_value_in_the_environment_is_refused_on_every_read(monkeypatch):
    monkeypatch.setenv("OPENAI_TIMEOUT_SECONDS", "0")
    for _ in range(2):
        with pytest.raises(ConfigError):
            settings.openai()


def test_check_names_the_first_refused_setting_or_none():
    assert settings.check({}) is None
    assert settings.check({"DASHBOARD_TOKENS": "Camille:short"}).extra["setting"] == "DASHBOARD_TOKENS"
