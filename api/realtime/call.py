"""POST /api/realtime/call: the browser's SDP offer, relayed to OpenAI with our key and session; DELETE hangs up."""

from lib import conversations, deadline, realtime, settings, voice_calls
from lib.errors import ValidationFailed
from lib.history import History
from lib.httpkit import ApiHandler, JsonResponse, RawResponse, Request

EXPOSED = "X-Call-Id, X-Conversation-Id"


class handler(ApiHandler):
    routes = {"POST": "post", "DELETE": "delete"}

    def post(self, request: Request):
        ends = deadline.Deadline("realtime/call")
        offer = realtime.parse_offer(request.read_body(), request.headers.get("Content-Type"))
        conversation_id = conversations.conversation_id_from(request.query)
        language = realtime.language_from(request.query)
        call = voice_calls.start(History.of(request), offer, conversation_id, settings.realtime(), settings.openai(),
                                 language, ends)
        return RawResponse(call.answer.encode(), "application/sdp", 201, {
            "X-Call-Id": call.id, "X-Conversation-Id": call.conversation_id, "Access-Control-Expose-Headers": EXPOSED,
        })

    def delete(self, request: Request):
        ends = deadline.Deadline("realtime/call")
        call_id = request.query.get("callId")
        if not call_id:
            raise ValidationFailed("callId", "is required")
        return JsonResponse(voice_calls.end(History.of(request), call_id, settings.openai(), ends))
