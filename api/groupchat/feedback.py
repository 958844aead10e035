"""Feedback on replies: POST rates one (thumbs up or down, optional comment; rating null takes it back), GET
returns the caller's ratings in a conversation."""

from lib import conversations, feedback
from lib.history import History
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post", "GET": "get"}

    def post(self, request: Request):
        return JsonResponse(feedback.rate(History.of(request), request.json()))

    def get(self, request: Request):
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        return JsonResponse(feedback.of_conversation(History.of(request), conversation_id))
