"""POST /api/realtime/key: a short-lived OpenAI Realtime client secret, so the browser never sees OPENAI_API_KEY."""

from lib import deadline, limits, realtime, settings
from lib.history import History
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post"}

    def post(self, request: Request):
        ends = deadline.Deadline("realtime/key")
        cfg = settings.realtime()
        body = realtime.parse_request(request.json(optional=True), cfg)
        limits.enforce_voice(History.of(request))
        return JsonResponse(realtime.mint_key(body, cfg, settings.openai(), ends))
