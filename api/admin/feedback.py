"""GET /api/admin/feedback: ratings of replies and their comments for admins (?from=&to=, &format=csv to
download); 404 for everyone else."""

from lib import admin, feedback
from lib.httpkit import ApiHandler, JsonResponse, RawResponse, Request


class handler(ApiHandler):
    routes = {"GET": "get"}
    public = True  # admin.door() authenticates, and answers everyone else 404

    def get(self, request: Request):
        found = feedback.report(admin.door(request), request.query)
        if request.query.get("format") == "csv":
            return RawResponse(admin.csv_of(found["feedback"], feedback.COLUMNS), "text/csv; charset=utf-8",
                               headers={"Content-Disposition":
                                        f'attachment; filename="feedback-{found["from"]}-{found["to"]}.csv"'})
        return JsonResponse(found)
