"""POST /api/groupchat/chat: the integrated chat, answered by OpenAI, whole or as Server-Sent Events."""

from lib import chat, settings
from lib.httpkit import ApiHandler, EventStream, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post"}

    def post(self, request: Request):
        cfg = settings.chat()
        body = chat.parse_request(request.json(), cfg)
        if chat.wants_stream(body, request.headers.get("Accept")):
            return EventStream(chat.stream_reply(body, cfg, settings.openai()))
        return JsonResponse(chat.reply(body, cfg, settings.openai()))
