"""Cut OpenAI's published OpenAPI description down to the operations this project calls, with every schema they use.

    python tests/spec/trim.py /path/to/openai-openapi/openapi.json <commit> > tests/spec/openai-openapi-trimmed.json
"""

from __future__ import annotations

import json
import sys

SOURCE = "https://github.com/openai/openai-openapi"
OPERATIONS = [  # (path, method) of every OpenAI call we make
    ("/chat/completions", "post"),
    ("/realtime/client_secrets", "post"),
    ("/realtime/calls", "post"),
    ("/realtime/calls/{call_id}/hangup", "post"),
    ("/moderations", "post"),
]
EXTRA_SCHEMAS = ["CreateChatCompletionStreamResponse", "Error", "ErrorResponse"]  # streamed chunks, error bodies


def trim(spec: dict, commit: str) -> dict:
    paths: dict = {}
    for path, method in OPERATIONS:
        operation = {key: value for key, value in spec["paths"][path][method].items() if not key.startswith("x-")}
        paths.setdefault(path, {})[method] = operation
    wanted: dict = {}
    pending = [("schemas", name) for name in EXTRA_SCHEMAS] + _refs(paths)
    while pending:
        kind, name = pending.pop()
        if name not in wanted.setdefault(kind, {}):
            wanted[kind][name] = spec["components"][kind][name]
            pending.extend(_refs(wanted[kind][name]))
    return {
        "openapi": spec["openapi"],
        "info": {**{key: spec["info"][key] for key in ("title", "version")},
                 "x-source": {"repository": SOURCE, "commit": commit, "file": "openapi.json",
                              "refresh": "python tests/spec/trim.py <checkout>/openapi.json <commit> > "
                                         "tests/spec/openai-openapi-trimmed.json"}},
        "servers": spec.get("servers", []),
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(wanted.items())},
    }


def _refs(node) -> list[tuple[str, str]]:
    """The components (kind, name) a node refers to, anywhere inside it."""
    found = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            kind, name = ref.removeprefix("#/components/").split("/", 1)
            found.append((kind, name))
        for value in node.values():
            found.extend(_refs(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_refs(value))
    return found


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as source:
        json.dump(trim(json.load(source), sys.argv[2]), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
