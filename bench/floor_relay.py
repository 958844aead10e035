"""The bare floor: a streamed chat relayed with nothing but stdlib http.server, json and one shared httpx client.

    python -m bench.floor_relay        # prints its port, serves until stdin closes

It does the relay's irreducible work (read the request, POST the stream, parse each chunk, write an SSE event per
delta, a `done` event at the end) and nothing else: no auth, limits, history, logs or error mapping.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def relay_handler():
    """The handler class, with its shared client."""
    client = httpx.Client(timeout=20, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    url = os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions"
    headers = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}

    class handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": body["message"]}], "stream": True,
                       "stream_options": {"include_usage": True}}
            with client.stream("POST", url, json=payload, headers=headers) as upstream:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.end_headers()
                self.close_connection = True
                parts, usage = [], None
                for line in upstream.iter_lines():
                    if not line.startswith("data:") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[5:])
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            parts.append(text)
                            self._event({"type": "delta", "text": text})
                self._event({"type": "done", "message": "".join(parts), "usage": usage})

        def _event(self, event: dict):
            self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode())

    return handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # as tests.helpers.LoopbackServer, which hosts the function in the benchmark


def main():
    server = Server(("127.0.0.1", 0), relay_handler())
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
