"""lib/validate.py: every rule it declares refuses and words exactly as a pydantic model would, on any input."""

import dataclasses
from typing import Annotated, Literal

import pytest
from hypothesis import example, given, settings, strategies as st
from pydantic import BaseModel, ConfigDict, Field as PydanticField, StrictBool, StrictInt, StrictStr

from lib.errors import ValidationFailed
from lib.validate import Body, Field
from tests.test_properties import declared_outcome, json_values, reference_outcome


@dataclasses.dataclass
class Tag:
    label: str
    weight: int = 1


@dataclasses.dataclass
class Everything:
    name: str
    tags: list[Tag]
    days: int | None = None
    flag: bool = False
    mode: str = "mentions"
    only: str | None = None


TAG = Body(Tag, label=Field(str, required=True), weight=Field(int, minimum=0))
EVERYTHING = Body(Everything, name=Field(str, required=True, min_length=1, max_length=3),
                  tags=Field(list, required=True, min_length=2, max_length=3, items=TAG),
                  days=Field(int, nullable=True, minimum=1, maximum=30), flag=Field(bool),
                  mode=Field(str, choices=("mentions", "all", "none")),
                  only=Field(str, nullable=True, choices=("only",)))


class ReferenceTag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: StrictStr
    weight: Annotated[StrictInt, PydanticField(ge=0)] = 1


class ReferenceEverything(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, PydanticField(min_length=1, max_length=3)]
    tags: list[ReferenceTag] = PydanticField(min_length=2, max_length=3)
    days: Annotated[StrictInt, PydanticField(ge=1, le=30)] | None = None
    flag: StrictBool = False
    mode: Literal["mentions", "all", "none"] = "mentions"
    only: Literal["only"] | None = None


scalars = (st.sampled_from([-1, 0, 1, 30, 31]) | st.sampled_from(["", "a", "abc", "abcd", "all", "only", "Only"])
           | st.sampled_from([None, True, False, 1.0]))  # each rule's edges
good_tags = st.fixed_dictionaries({"label": st.text(max_size=3)}, optional={"weight": st.integers(0, 3)})
good_fields = {"days": st.none() | st.integers(1, 30), "flag": st.booleans(),
               "mode": st.sampled_from(["mentions", "all", "none"]), "only": st.none() | st.just("only")}


@st.composite
def bodies(draw):
    """A well-formed body, then up to three faults anywhere in it: a key dropped, added or given any value."""
    body = {"name": draw(st.sampled_from(["a", "ab", "abc"])),
            "tags": draw(st.lists(good_tags, min_size=2, max_size=3))}
    for key, values in good_fields.items():
        if draw(st.booleans()):
            body[key] = draw(values)
    for _ in range(draw(st.integers(0, 3))):
        tags = body.get("tags") if isinstance(body.get("tags"), list) else []
        where = draw(st.sampled_from([body, tags, *[tag for tag in tags if isinstance(tag, dict)]]))
        if where is tags:  # too many tags, too few, or one that is not an object
            tags.extend(draw(st.lists(good_tags | scalars, min_size=1, max_size=2)))
            del tags[:draw(st.integers(0, len(tags)))]
            continue
        keys = (["name", "tags", "days", "flag", "mode", "only", "extra", ""] if where is body
                else ["label", "weight", ""])
        key = draw(st.sampled_from(keys))
        if key in where and draw(st.booleans()):
            del where[key]
        else:
            where[key] = draw(scalars | json_values)
    return body


@settings(max_examples=400)
@given(body=bodies())
@example(body=["not", "an", "object"])
@example(body={"name": "", "tags": []})
@example(body={"name": "abcd", "tags": []})
@example(body={"name": "ab", "tags": [{"label": "x"}]})
@example(body={"name": "ab", "tags": [{"label": "x"}] * 4})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y", "weight": True}]})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y", "weight": -1}]})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y"}], "days": 1.0})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y"}], "days": 0})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y"}], "days": 31, "mode": "some"})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y"}], "mode": "some"})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y"}], "only": "Only"})
@example(body={"name": "ab", "tags": [{"label": "x"}, {"label": "y"}], "flag": None})
def test_every_rule_refuses_and_words_as_pydantic_does(body):
    assert declared_outcome(EVERYTHING, body) == reference_outcome(ReferenceEverything, body)


def test_a_body_built_as_a_dict_holds_only_the_fields_sent():
    body = Body(dict, a=Field(str, nullable=True), b=Field(int, required=True))
    assert body.parse({"a": None, "b": 2}) == {"b": 2}
    with pytest.raises(ValidationFailed) as refused:
        body.parse({"b": True})
    assert (refused.value.status, refused.value.extra["field"], refused.value.message) == (
        422, "b", "b: input should be a valid integer")
