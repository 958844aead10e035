"""GET /api/admin/usage: usage and its cost in euros for admins (?from=&to=, &format=csv for the range's table);
404 for everyone else."""

from lib import admin, usage
from lib.httpkit import ApiHandler, JsonResponse, RawResponse, Request


class handler(ApiHandler):
    routes = {"GET": "get"}
    public = True  # admin.door() authenticates, and answers everyone else 404

    def get(self, request: Request):
        report = usage.report(admin.door(request), request.query)
        if request.query.get("format") == "csv":
            chosen = report["range"]
            return RawResponse(admin.csv_of([*chosen["people"], chosen["total"]], usage.COLUMNS),
                               "text/csv; charset=utf-8", headers={
                                   "Content-Disposition": f'attachment; filename="usage-{chosen["from"]}-{chosen["to"]}.csv"'})
        return JsonResponse(report)
