"""OpenAI access: each attempt's time, one retry at most, and OpenAI's failures as ours (the calls themselves go
over lib/http_pool.py: lib/openai_stream.py streams, lib/openai_http.py whole answers)."""

from __future__ import annotations

import json
import time
from http.client import HTTPException
from typing import Callable, TypeVar

from lib import log
from lib.errors import (
    ApiError, NotConfigured, UpstreamAuth, UpstreamBadResponse, UpstreamError, UpstreamModelUnavailable,
    UpstreamQuota, UpstreamRateLimited, UpstreamRejected, UpstreamStatus, UpstreamStreamInterrupted, UpstreamTimeout,
    UpstreamUnreachable,
)
from lib.settings import DEADLINE_MARGIN_SECONDS, MAX_DURATION_SECONDS, OpenAISettings

T = TypeVar("T")
RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_AFTER_SECONDS = 2.0


def attempt_timeout(cfg: OpenAISettings, function: str) -> float:
    """One attempt's wait on OpenAI: OPENAI_TIMEOUT_SECONDS, cut so that two attempts and the wait between them
    (with_retry) end before `function`'s deadline, so the caller gets our JSON error, not the platform's 504."""
    budget = MAX_DURATION_SECONDS[function] - DEADLINE_MARGIN_SECONDS - MAX_RETRY_AFTER_SECONDS
    return min(cfg.timeout, budget / 2)


def require_key(cfg: OpenAISettings) -> str:
    """The server's OpenAI key; 503 when none is configured."""
    if not cfg.api_key:
        raise NotConfigured(
            "openai_not_configured",
            "The server has no OpenAI key: set OPENAI_API_KEY in its environment (see .env.example).",
        )
    return cfg.api_key


def with_retry(fn: Callable[[], T], *, model: str | None = None, auth_message: str | None = None,
               only_if_unsent: bool = False) -> T:
    """Run one OpenAI call, retried once on a passing failure; raise our ApiError otherwise. `only_if_unsent`:
    retried only when OpenAI surely did nothing (a 429), for a call that must not happen twice."""
    for attempt in range(2):
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - every failure is translated below
            error = translate(exc, model=model, auth_message=auth_message)
            retry = isinstance(error, UpstreamRateLimited) if only_if_unsent else True
            if attempt == 0 and retry and _worth_retrying(error):
                time.sleep(min(MAX_RETRY_AFTER_SECONDS, _retry_after(error) or RETRY_DELAY_SECONDS))
                continue
            raise error from None
        log.note(upstreamRequestId=_request_id_of(result))
        return result
    raise AssertionError("unreachable")


def _request_id_of(result) -> str | None:
    """OpenAI's x-request-id for an answer or an open stream."""
    headers = getattr(result, "headers", None)
    request_id = headers.get("x-request-id") if headers is not None else None
    return request_id if isinstance(request_id, str) else None


def _worth_retrying(error: ApiError) -> bool:
    if isinstance(error, UpstreamRateLimited):
        return (_retry_after(error) or 0) <= MAX_RETRY_AFTER_SECONDS
    return isinstance(error, (UpstreamError, UpstreamUnreachable))


def _retry_after(error: ApiError) -> float | None:
    try:
        return float(error.headers.get("Retry-After", ""))
    except ValueError:
        return None


def translate(exc: BaseException, *, model: str | None = None, auth_message: str | None = None,
              mid_stream: bool = False) -> ApiError:
    """Map an exception raised while talking to OpenAI to the ApiError the caller sees."""
    if isinstance(exc, ApiError):
        return exc
    if _is_transport(exc, "TimeoutException"):
        error = UpstreamTimeout()
    elif isinstance(exc, UpstreamStatus):
        error = _from_status(exc, model, auth_message)
    elif isinstance(exc, TimeoutError):  # a read past OPENAI_TIMEOUT_SECONDS, or the deadline (lib/http_pool.py)
        error = UpstreamTimeout()
    elif _is_transport(exc, "TransportError") or isinstance(exc, (OSError, HTTPException)):  # before ValueError:
        error = UpstreamStreamInterrupted() if mid_stream else UpstreamUnreachable()  # a refused certificate is both
    elif isinstance(exc, (json.JSONDecodeError, ValueError)):  # orjson's decode error is a JSONDecodeError too
        error = UpstreamBadResponse()
    else:
        raise exc
    error.upstream_request_id = getattr(exc, "request_id", None)
    return error


def _is_transport(exc: BaseException, name: str) -> bool:
    """True for httpx's exception class `name` or a subclass of it (the tests' respx routes speak httpx)."""
    return any(cls.__name__ == name and cls.__module__.split(".")[0] in ("httpx", "httpx2")
               for cls in type(exc).__mro__)


def _from_status(exc, model: str | None, auth_message: str | None) -> ApiError:
    status, code = exc.status_code, _upstream_code(exc)
    param = str(_upstream_error(exc).get("param") or "")
    if code == "insufficient_quota":
        return UpstreamQuota()
    if status == 429:
        return UpstreamRateLimited(headers={"Retry-After": _retry_after_header(exc.response)})
    if status in (401, 403):
        return UpstreamAuth(auth_message)
    if status == 407:  # never OpenAI's: the proxy in HTTP(S)_PROXY refused its credentials
        return UpstreamUnreachable("Could not reach OpenAI: the proxy refused the server's credentials.")
    if status == 404 or code == "model_not_found" or param.endswith("model"):
        return UpstreamModelUnavailable(
            f"The model {model or 'requested'} is not available to the server's OpenAI key."
        )
    if status == 408:
        return UpstreamTimeout()
    if status >= 500:
        return UpstreamError()
    return UpstreamRejected(f"OpenAI rejected the request ({code or status}).", upstreamCode=code or str(status))


def _upstream_error(exc) -> dict:
    """OpenAI's error object ({"code", "type", "param", ...}), or {}."""
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    return inner if isinstance(inner, dict) else {}


def _upstream_code(exc) -> str | None:
    inner = _upstream_error(exc)
    return getattr(exc, "code", None) or inner.get("code") or inner.get("type")


def _retry_after_header(response) -> str:
    """Retry-After in whole seconds from OpenAI's headers, 1 when it gave none."""
    headers = response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return str(max(1, round(float(headers.get(name, "")) * scale + 0.499)))
        except ValueError:
            continue
    return "1"
