"""OpenAI's published OpenAPI description (trimmed copy in tests/spec/), to check bodies against its JSON schemas."""

from __future__ import annotations

import json
from functools import lru_cache

from tests.helpers import ROOT

SPEC_PATH = ROOT / "tests" / "spec" / "openai-openapi-trimmed.json"


@lru_cache(maxsize=1)
def spec() -> dict:
    return _nullable_as_json_schema(json.loads(SPEC_PATH.read_text(encoding="utf-8")))


def _nullable_as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` (still used in OpenAI's 3.1 document) as JSON Schema's `null` alternative."""
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=None)
def _validator(name: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec()["components"]})


def problems(name: str, body) -> list[str]:
    """Where `body` breaks the spec's schema `name` (empty when it conforms)."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
            for error in _validator(name).iter_errors(body)]


def assert_conforms(name: str, body) -> None:
    found = problems(name, body)
    assert not found, f"not a valid {name}: {found}"
