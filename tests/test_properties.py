"""Property tests: request validation and history trimming hold for any input hypothesis can think of."""

import dataclasses
import re
import uuid
from typing import Annotated, Literal

import pytest
from hypothesis import example, given, settings, strategies as st
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from lib import chat, realtime, settings as config, transcripts
from lib.errors import ValidationFailed, canonical_uuid
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
    """The chat body as a pydantic model: what lib/chat.py declares with lib/validate.py, keeping pydantic out."""

    model_config = ConfigDict(extra="forbid")

    message: StrictStr | None = None
    systemPrompt: StrictStr | None = None
    conversationId: StrictStr | None = None
    model: StrictStr | None = None
    stream: StrictBool = False
    askAssistant: StrictBool = False
    regenerate: StrictBool | None = None
    stop: StrictBool = False
    editOf: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)] | None = None
    chooseVersion: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)] | None = None

    @field_validator("stream", mode="before")
    @classmethod
    def _null_is_absent(cls, value):
        return False if value is None else value


class ReferenceKeyRequest(BaseModel):
    """The realtime key's body as the pydantic model it was until lib/validate.py."""

    model_config = ConfigDict(extra="forbid")

    voice: StrictStr | None = None
    instructions: StrictStr | None = None
    language: Literal["fr", "en"] | None = None


class ReferenceTranscriptItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    text: Annotated[StrictStr, Field(max_length=transcripts.MAX_TEXT_CHARS)]
    status: Literal["complete", "interrupted"] = "complete"


class ReferenceTranscriptRequest(BaseModel):
    """The transcript's body as the pydantic model it was until lib/validate.py."""

    model_config = ConfigDict(extra="forbid")

    callId: StrictStr
    conversationId: StrictStr | None = None
    items: list[ReferenceTranscriptItem] = Field(min_length=1, max_length=transcripts.MAX_ITEMS)
    language: Literal["fr", "en"] = "fr"


def reference_outcome(model: type[BaseModel], body: dict):
    """The fields pydantic reads, or the field and message of its first error (as the API would say it)."""
    try:
        return model.model_validate(body).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        refused = ValidationFailed(field, first["msg"][0].lower() + first["msg"][1:])
        # pydantic names its own class where an item is not an object; the API does not
        return refused.extra["field"], re.sub(r" or instance of \w+$", "", refused.message)


def declared_outcome(declared, body: dict):
    """The same from a lib/validate.py body."""
    try:
        return dataclasses.asdict(declared.parse(body))
    except ValidationFailed as refused:
        return refused.extra["field"], refused.message


any_field = st.sampled_from(["message", "systemPrompt", "conversationId", "model", "stream", "askAssistant",
                             "regenerate", "stop", "editOf", "chooseVersion", "", "extra", "Message"])


@settings(max_examples=600)
@given(body=st.dictionaries(any_field, json_values, max_size=5) | chat_bodies)
@example(body={"stream": None, "askAssistant": None})
@example(body={"message": 1, "bogus": True})
@example(body={"bogus": 1, "stream": 1})
@example(body={"": 1})
def test_the_chat_body_is_typed_exactly_as_the_pydantic_model_would(body):
    assert declared_outcome(chat.BODY, body) == reference_outcome(ReferenceChatRequest, body)


key_bodies = st.dictionaries(st.sampled_from(["voice", "instructions", "language", "", "model", "Voice"]),
                             st.sampled_from(["marin", "alloy", "fr", "en", ""]) | json_values, max_size=4)


@settings(max_examples=200)
@given(body=key_bodies)
@example(body={"voice": None, "instructions": None})
@example(body={"voice": True})
@example(body={"model": "gpt-4o", "voice": 1})
def test_the_key_body_is_typed_exactly_as_the_pydantic_model_would(body):
    assert declared_outcome(realtime.KEY_BODY, body) == reference_outcome(ReferenceKeyRequest, body)


texts = st.text(max_size=20) | st.integers(transcripts.MAX_TEXT_CHARS - 1, transcripts.MAX_TEXT_CHARS + 1).map(
    lambda length: "x" * length)
good_items = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "text": texts},
                                   optional={"status": st.sampled_from(["complete", "interrupted"])})
words = (st.none() | st.sampled_from(["user", "assistant", "system", "complete", "interrupted", "cut", "fr", "en"])
         | texts | json_values)


@st.composite
def transcript_bodies(draw):
    """A well-formed transcript body, then up to three faults anywhere in it (so they are found deep in items too)."""
    body = {"callId": draw(st.text(max_size=12)),
            "items": draw(st.lists(good_items, min_size=1, max_size=transcripts.MAX_ITEMS))}
    if draw(st.booleans()):
        body["conversationId"] = draw(st.none() | st.uuids().map(str))
    for _ in range(draw(st.integers(0, 3))):
        items = body.get("items") if isinstance(body.get("items"), list) else []
        where = draw(st.sampled_from([body, items, *[item for item in items if isinstance(item, dict)]]))
        if where is items:  # too many items, none, or one that is not an object
            items.extend(draw(st.lists(good_items | json_values, min_size=1, max_size=3)))
            del items[:draw(st.integers(0, len(items)))]
            continue
        keys = (["callId", "conversationId", "items", "language", "extra", ""] if where is body
                else ["role", "text", "status", ""])
        key = draw(st.sampled_from(keys))
        if key in where and draw(st.booleans()):
            del where[key]
        else:
            where[key] = draw(words)
    return body


@settings(max_examples=400)
@given(body=transcript_bodies())
@example(body={"callId": "rtc_1", "items": [{"role": "user", "text": "hi"}] * 5})
@example(body={"callId": "rtc_1", "items": [{"role": "x"}, 1, 2, 3, 4]})  # too many: said before any item's fault
@example(body={"callId": "rtc_1", "items": []})
@example(body={"callId": "rtc_1", "items": [1]})
@example(body={"callId": "rtc_1", "items": [{"role": "user", "text": "hi", "": 1}]})
@example(body={"callId": "rtc_1", "conversationId": None, "items": [{"role": "assistant", "text": "x" * 2001}]})
def test_the_transcript_body_is_typed_exactly_as_the_pydantic_model_would(body):
    assert declared_outcome(transcripts.BODY, body) == reference_outcome(ReferenceTranscriptRequest, body)


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
