"""OpenAI response bodies for respx routes."""

import json

import httpx


def completion(text: str = "Bonjour !", model: str = "gpt-4o-2024-08-06") -> httpx.Response:
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }, headers={"x-request-id": "req_123"})


def error(status: int, code: str, kind: str = "invalid_request_error", headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": f"upstream says {code}", "type": kind, "param": None,
                                                    "code": code}},
                          headers=headers)


def client_secret(value: str = "ek_test_123", expires_at: int = 1_900_000_000) -> httpx.Response:
    return httpx.Response(200, json={
        "value": value, "expires_at": expires_at,
        "session": {"type": "realtime", "object": "realtime.session", "id": "sess_1", "model": "gpt-realtime-2",
                    "audio": {"output": {"voice": "marin"}}, "tools": [], "tracing": None},
    })


def stream(*pieces: str, finish: str = "stop", request_id: str = "req_stream") -> httpx.Response:
    """A streamed chat completion as OpenAI sends it: one `data:` chunk per piece, the finish, usage, [DONE]."""
    def chunk(payload: dict) -> str:
        return "data: " + json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                                      "model": "gpt-4o-2024-08-06", **payload}, ensure_ascii=False) + "\n\n"
    body = "".join(chunk({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                   for piece in pieces)
    body += chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    body += chunk({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": len(pieces),
                                            "total_tokens": 9 + len(pieces)}})
    return httpx.Response(200, text=body + "data: [DONE]\n\n",
                          headers={"content-type": "text/event-stream; charset=utf-8", "x-request-id": request_id})
