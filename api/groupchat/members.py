"""Rooms' members: invite (owner) and join by invitation (POST), list (GET), remove or leave, revoke (DELETE),
when the assistant answers (PATCH)."""

from lib import conversations, rooms, settings
from lib.errors import ValidationFailed, canonical_uuid
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post", "GET": "get", "DELETE": "delete", "PATCH": "patch"}

    def post(self, request: Request):
        body, status = rooms.post(request.caller, request.json(), rooms.base_url(request.headers), settings.history())
        return JsonResponse(body, status)

    def get(self, request: Request):
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        return JsonResponse(rooms.members(request.caller, conversation_id, settings.history()))

    def delete(self, request: Request):
        if "invite" in request.query:
            return JsonResponse(rooms.revoke(request.caller, request.query["invite"], settings.history()))
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        if "userId" not in request.query:
            raise ValidationFailed("userId", "is required (or invite, to revoke an invitation)")
        user_id = canonical_uuid(request.query["userId"], "userId")
        return JsonResponse(rooms.remove(request.caller, conversation_id, user_id, settings.history()))

    def patch(self, request: Request):
        return JsonResponse(rooms.configure(request.caller, request.json(), settings.history()))
