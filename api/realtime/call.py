"""POST /api/realtime/call: the browser's SDP offer, relayed to OpenAI with our key and session; DELETE hangs up."""

from lib import calls, conversations, limits, realtime, settings
from lib.errors import ValidationFailed
from lib.httpkit import ApiHandler, JsonResponse, RawResponse, Request

EXPOSED = "X-Call-Id, X-Conversation-Id"


class handler(ApiHandler):
    routes = {"POST": "post", "DELETE": "delete"}

    def post(self, request: Request):
        cfg = settings.realtime()
        offer = realtime.parse_offer(request.read_body(), request.headers.get("Content-Type"))
        conversation_id = conversations.conversation_id_from(request.query)
        limits.enforce_voice(request.caller, request.client_ip)
        call = calls.start(request.caller, offer, conversation_id, cfg, settings.openai(), settings.history())
        return RawResponse(call.answer.encode(), "application/sdp", 201, {
            "X-Call-Id": call.id, "X-Conversation-Id": call.conversation_id, "Access-Control-Expose-Headers": EXPOSED,
        })

    def delete(self, request: Request):
        call_id = request.query.get("callId")
        if not call_id:
            raise ValidationFailed("callId", "is required")
        return JsonResponse(calls.end(request.caller, call_id, settings.openai(), settings.history()))
