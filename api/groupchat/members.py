"""Rooms' members: create a room, invite (owner) and join by invitation (POST), list with the open invitations
(GET), remove or leave, revoke (DELETE), when the assistant answers (PATCH)."""

from lib import conversations, rooms
from lib.errors import ValidationFailed, canonical_uuid
from lib.history import History
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"POST": "post", "GET": "get", "DELETE": "delete", "PATCH": "patch"}

    def post(self, request: Request):
        body, status = rooms.post(History.of(request), request.json(), rooms.base_url(request.headers))
        return JsonResponse(body, status)

    def get(self, request: Request):
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        return JsonResponse(rooms.members(History.of(request), conversation_id))

    def delete(self, request: Request):
        if "invite" in request.query:
            return JsonResponse(rooms.revoke(History.of(request), request.query["invite"]))
        conversation_id = conversations.conversation_id_from(request.query, required=True)
        if "inviteId" in request.query:
            return JsonResponse(rooms.revoke_by_id(History.of(request), conversation_id, request.query["inviteId"]))
        if "userId" not in request.query:
            raise ValidationFailed("userId", "is required (or invite, to revoke an invitation)")
        user_id = canonical_uuid(request.query["userId"], "userId")
        return JsonResponse(rooms.remove(History.of(request), conversation_id, user_id))

    def patch(self, request: Request):
        return JsonResponse(rooms.configure(History.of(request), request.json()))
