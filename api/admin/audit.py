"""GET /api/admin/audit: the audit trail for admins (?from=&to=&kind=, &format=csv to download); 404 for others."""

from lib import admin
from lib.httpkit import ApiHandler, JsonResponse, RawResponse, Request


class handler(ApiHandler):
    routes = {"GET": "get"}
    public = True  # admin.door() authenticates, and answers everyone else 404

    def get(self, request: Request):
        trail = admin.trail(admin.door(request), request.query)
        if request.query.get("format") == "csv":
            return RawResponse(admin.csv_of(trail["events"], admin.AUDIT_COLUMNS), "text/csv; charset=utf-8",
                               headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
        return JsonResponse(trail)
