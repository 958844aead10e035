"""GET /api/cron/retention: Vercel's cron job runs retention; only `Authorization: Bearer $CRON_SECRET` opens it."""

from lib import retention
from lib.httpkit import ApiHandler, JsonResponse, Request


class handler(ApiHandler):
    routes = {"GET": "get"}
    public = True  # the cron secret is its only key (lib/retention.py)

    def get(self, request: Request):
        return JsonResponse(retention.from_cron(request.headers.get("Authorization"), request.client_ip))
