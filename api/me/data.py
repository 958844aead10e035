"""The caller's own data: GET downloads all of it (a zip of JSON and Markdown), DELETE erases it."""

from lib import my_data
from lib.history import History
from lib.httpkit import ApiHandler, JsonResponse, RawResponse, Request


class handler(ApiHandler):
    routes = {"GET": "get", "DELETE": "delete"}

    def get(self, request: Request):
        archive = my_data.archive(my_data.collect(History.of(request)))
        return RawResponse(archive, "application/zip",
                           headers={"Content-Disposition": f'attachment; filename="{my_data.FILE_STEM}.zip"'})

    def delete(self, request: Request):
        return JsonResponse(my_data.erase(History.of(request), request.json()))
