"""GET /api/config: the dashboard's public settings (group chat link, sign-in options, what is available); for an
admin, also where each part runs."""

from lib import dashboard
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"GET": "get"}
    public = True

    def get(self, request: Request):
        return JsonResponse(dashboard.config_for(request.headers.get("Authorization")))
