"""Property tests: request validation and history trimming hold for any input hypothesis can think of."""

import dataclasses
import uuid

import pytest
from hypothesis import example, given, settings, strategies as st
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError, field_validator

from lib import chat, realtime, settings as config
from lib.errors import ValidationFailed, canonical_uuid, validation_failed
from lib.context import TITLE_CHARS, fit_to_budget, title_for

CHAT_CFG = config.chat({"CHAT_MAX_MESSAGE_CHARS": "200", "CHAT_ALLOWED_MODELS": "gpt-4o,gpt-4o-mini"})
REALTIME_CFG = config.realtime({})
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=8)
chat_bodies = st.fixed_dictionaries({}, optional={
    "message": st.text(max_size=300) | json_values, "systemPrompt": st.text(max_size=4100) | json_values,
    "conversationId": st.uuids().map(str) | st.text(max_size=40) | json_values,
    "model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "gpt-9"]) | json_values, "stream": json_values,
}) | st.dictionaries(st.text(max_size=12), json_values, max_size=4)


@settings(max_examples=400)
@given(body=chat_bodies)
def test_a_chat_body_is_either_valid_or_a_422_naming_a_field(body):
    try:
        request = chat.parse_request(body, CHAT_CFG)
    except ValidationFailed as refused:
        assert refused.status == 422
        assert refused.extra["field"].split(".")[0] in set(body) | {"message"}
        return
    assert isinstance(request.message, str) and request.message.strip()
    assert len(request.message) <= 200
    assert request.systemPrompt is None or len(request.systemPrompt) <= 4000
    assert request.model in (None, "gpt-4o", "gpt-4o-mini")
    assert request.conversationId is None or str(uuid.UUID(request.conversationId)) == request.conversationId
    assert set(body) <= {"message", "systemPrompt", "conversationId", "model", "stream"}


@settings(max_examples=300)
@given(body=st.dictionaries(st.sampled_from(["voice", "instructions", "model", "x"]), json_values, max_size=3))
def test_a_key_body_is_either_valid_or_a_422(body):
    try:
        request = realtime.parse_request(body, REALTIME_CFG)
    except ValidationFailed as refused:
        assert refused.extra["field"].split(".")[0] in body
        return
    assert request.voice is None or request.voice in REALTIME_CFG.allowed_voices
    assert request.instructions is None  # client instructions are off by default


class ReferenceChatRequest(BaseModel):
    """The chat body as a pydantic model: what lib/chat.py checks by hand (to keep pydantic out of its cold start)."""

    model_config = ConfigDict(extra="forbid")

    message: StrictStr | None = None
    systemPrompt: StrictStr | None = None
    conversationId: StrictStr | None = None
    model: StrictStr | None = None
    stream: StrictBool = False
    askAssistant: StrictBool = False
    regenerate: StrictBool | None = None

    @field_validator("stream", mode="before")
    @classmethod
    def _null_is_absent(cls, value):
        return False if value is None else value


def reference_outcome(body: dict):
    try:
        return ReferenceChatRequest.model_validate(body).model_dump()
    except ValidationError as exc:
        refused = validation_failed(exc)
        return refused.extra["field"], refused.message


def hand_outcome(body: dict):
    try:
        return dataclasses.asdict(chat.BODY.parse(body))
    except ValidationFailed as refused:
        return refused.extra["field"], refused.message


any_field = st.sampled_from(["message", "systemPrompt", "conversationId", "model", "stream", "askAssistant",
                             "regenerate", "", "extra", "Message"])


@settings(max_examples=600)
@given(body=st.dictionaries(any_field, json_values, max_size=5) | chat_bodies)
@example(body={"stream": None, "askAssistant": None})
@example(body={"message": 1, "bogus": True})
@example(body={"bogus": 1, "stream": 1})
@example(body={"": 1})
def test_the_chat_body_is_typed_exactly_as_the_pydantic_model_would(body):
    assert hand_outcome(body) == reference_outcome(body)


messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]),
                                           "content": st.text(max_size=60)}), max_size=30)


@settings(max_examples=400)
@given(history=messages, budget=st.integers(min_value=0, max_value=1000))
def test_trimming_keeps_the_newest_messages_that_fit(history, budget):
    kept = fit_to_budget(history, budget)
    longest = next(n for n in range(len(history), -1, -1)  # the longest suffix within the budget, by brute force
                   if sum(len(m["content"]) for m in history[len(history) - n:]) <= budget)
    expected = history[len(history) - longest:]
    while expected and expected[0]["role"] == "assistant":
        expected = expected[1:]
    assert kept == expected
    assert sum(len(m["content"]) for m in kept) <= budget
    assert not kept or kept[0]["role"] == "user"


@given(text=st.text(max_size=500))
def test_titles_are_one_short_line(text):
    title = title_for(text)
    assert len(title) <= TITLE_CHARS and "\n" not in title and title == title.strip()


@given(value=st.uuids())
def test_canonical_uuids_round_trip(value):
    assert canonical_uuid(str(value).upper(), "id") == str(value)
    with pytest.raises(ValidationFailed):
        canonical_uuid(value.hex, "id")
