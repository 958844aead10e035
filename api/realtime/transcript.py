"""POST /api/realtime/transcript: a voice call's finished transcripts, stored in its conversation."""

from lib import transcripts
from lib.history import History
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post"}

    def post(self, request: Request):
        body = transcripts.parse_request(request.json())
        return JsonResponse(transcripts.save(History.of(request), body))
