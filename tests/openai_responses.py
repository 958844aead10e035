"""OpenAI response bodies for respx routes."""

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
