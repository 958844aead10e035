"""A fresh process serving exactly one request, as a new serverless instance does (the cold-start benchmark's child).

    python -m bench.serve_once function api/groupchat/chat.py
    python -m bench.serve_once floor-urllib chat|key
    python -m bench.serve_once floor-sdk chat|key
    python -m bench.serve_once floor-urllib supabase    (GET: the conversation list from Supabase's REST API, stdlib)
    python -m bench.serve_once floor-postgrest supabase (GET: the same through the PostgREST client, over httpx)
    python -m bench.serve_once floor-httpx chat      (bench/floor_relay.py: a bare streamed chat over httpx)
    python -m bench.serve_once floor-bare ROUTE      (bench/cold_routes.py: a bare function over httpx doing the
                                                      route's upstream work: OpenAI's, PostgREST's, or none)

Prints the port it listens on, serves one request, then reports (on stderr, as JSON) which top-level modules the
process imported.
"""

import sys


def function_handler(relative: str):
    """Load api/<file>.py by path, as Vercel's runtime does."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location("vc__handler__python", root / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def floor_urllib(route: str):
    """The least a function can do: stdlib only, the same upstream POST with urllib (for `supabase`: a GET answered
    with the same two PostgREST requests the conversation list makes, for the user BENCH_USER_ID, no token check)."""
    import json
    import os
    import urllib.request
    from http.server import BaseHTTPRequestHandler

    class handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            rest, key, user = _supabase()
            headers = {"apiKey": key, "Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            rooms = urllib.request.Request(f"{rest}/rpc/rooms_for", data=json.dumps({"p_user_id": user}).encode(),
                                           headers=headers)
            listed = urllib.request.Request(f"{rest}/conversations?{_LIST_QUERY}{user}", headers=headers)
            with urllib.request.urlopen(rooms, timeout=20) as first, urllib.request.urlopen(listed, timeout=20) as then:
                data = {"rooms": json.loads(first.read()), "conversations": json.loads(then.read())}
            _answer(self, json.dumps(data).encode())

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            url, payload = _upstream(route, body)
            request = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + url, data=json.dumps(payload).encode(),
                                             headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
                                                      "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=20) as response:
                _answer(self, response.read())

    return handler


def floor_sdk(route: str):
    """The same, with the SDKs the functions use (openai over our httpx client, pydantic) and nothing else."""
    import json
    import os
    from http.server import BaseHTTPRequestHandler

    import httpx
    import openai
    import pydantic  # noqa: F401 - imported by the functions too

    client = openai.OpenAI(api_key=os.environ["OPENAI_API_KEY"], base_url=os.environ["OPENAI_BASE_URL"],
                           http_client=httpx.Client(timeout=20), max_retries=0)

    class handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if route == "chat":
                answer = client.chat.completions.create(model="gpt-4o",
                                                        messages=[{"role": "user", "content": body["message"]}])
                data = json.dumps({"message": answer.choices[0].message.content}).encode()
            else:
                secret = client.realtime.client_secrets.create(
                    session={"type": "realtime", "model": "gpt-realtime", "audio": {"output": {"voice": "marin"}}},
                    expires_after={"anchor": "created_at", "seconds": 600})
                data = json.dumps({"value": secret.value, "expires_at": secret.expires_at}).encode()
            _answer(self, data)

    return handler


def floor_postgrest(route: str):
    """The same GET as floor-urllib's, through the PostgREST client the Supabase store uses (over our httpx client)."""
    import json
    from http.server import BaseHTTPRequestHandler

    import httpx
    from postgrest import SyncPostgrestClient

    rest, key, user = _supabase()
    client = SyncPostgrestClient(rest, http_client=httpx.Client(timeout=20), retry_enabled=False,
                                 headers={"apiKey": key, "Authorization": f"Bearer {key}"})

    class handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            rooms = client.rpc("rooms_for", {"p_user_id": user}).execute().data
            listed = (client.table("conversations").select("id,title,created_at,updated_at").eq("user_id", user)
                      .order("updated_at", desc=True).limit(100).execute().data)
            _answer(self, json.dumps({"rooms": rooms, "conversations": listed}).encode())

    return handler


_LIST_QUERY = "select=id,title,created_at,updated_at&order=updated_at.desc&limit=100&user_id=eq."


def _supabase() -> tuple[str, str, str]:
    import os

    return (os.environ["SUPABASE_URL"] + "/rest/v1", os.environ["SUPABASE_SERVICE_ROLE_KEY"],
            os.environ["BENCH_USER_ID"])


def floor_httpx(route: str):
    """The bare Python + httpx streaming relay (bench/floor_relay.py), the floor of a streamed chat."""
    from bench.floor_relay import relay_handler

    return relay_handler()


def floor_bare(route: str):
    """A bare function importing httpx alone: for chat, key and call the same OpenAI request as the route; for
    `supabase` the conversation list's two PostgREST requests; for transcript, rooms and config a JSON answer."""
    import json
    import os
    from http.server import BaseHTTPRequestHandler

    import httpx

    client = httpx.Client(timeout=20)

    class handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            if route != "supabase":
                return _answer(self, b'{"ok": true}')
            rest, key, user = _supabase()
            headers = {"apiKey": key, "Authorization": f"Bearer {key}"}
            rooms = client.post(f"{rest}/rpc/rooms_for", json={"p_user_id": user}, headers=headers).json()
            listed = client.get(f"{rest}/conversations?{_LIST_QUERY}{user}", headers=headers).json()
            _answer(self, json.dumps({"rooms": rooms, "conversations": listed}).encode())

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
            base = os.environ["OPENAI_BASE_URL"]
            if route == "call":
                answer = client.post(base + "/realtime/calls", headers=auth, files={
                    "sdp": (None, raw, "application/sdp"),
                    "session": (None, json.dumps({"type": "realtime", "model": "gpt-realtime"}), "application/json")})
                self.send_response(201)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                return self.wfile.write(answer.content)
            if route not in ("chat", "key"):
                return _answer(self, b'{"ok": true}')
            url, payload = _upstream(route, json.loads(raw or b"{}"))
            _answer(self, client.post(base + url, json=payload, headers=auth).content)

    return handler


def _answer(handler, data: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _upstream(route: str, body: dict) -> tuple[str, dict]:
    if route == "chat":
        return "/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": body["message"]}]}
    return "/realtime/client_secrets", {
        "session": {"type": "realtime", "model": "gpt-realtime", "audio": {"output": {"voice": "marin"}}},
        "expires_after": {"anchor": "created_at", "seconds": 600}}


def main():
    import json
    from http.server import HTTPServer

    kind, target = sys.argv[1], sys.argv[2]
    before = set(sys.modules)
    handler = {"function": function_handler, "floor-urllib": floor_urllib, "floor-sdk": floor_sdk,
               "floor-postgrest": floor_postgrest, "floor-httpx": floor_httpx, "floor-bare": floor_bare}[kind](target)
    server = HTTPServer(("127.0.0.1", 0), handler)
    print(server.server_port, flush=True)
    server.handle_request()
    imported = sorted({name.split(".")[0] for name in set(sys.modules) - before})
    print(json.dumps({"modules": imported}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
