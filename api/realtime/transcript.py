"""POST /api/realtime/transcript: a voice call's finished transcripts, stored in its conversation."""

from lib import settings, transcripts
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post"}

    def post(self, request: Request):
        body = transcripts.parse_request(request.json())
        return JsonResponse(transcripts.save(request.caller, request.client_ip, body, settings.history(),
                                             settings.limits()))
