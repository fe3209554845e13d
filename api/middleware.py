"""Answers of /api/v1/ that django-ninja does not write itself (a path it does not have: Django's
404; a method a path does not take: ninja's plain-text 405) get the API's error body too."""
from django.http import JsonResponse

from api.errors import ApiError

PREFIX = "/api/v1/"


class ApiErrorBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.path.startswith(PREFIX) and response.status_code in (404, 405)
                and not response.get("Content-Type", "").startswith("application/json")):
            error = (ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed",
                              f"{request.method} is not allowed here.") if response.status_code == 405 else
                     ApiError(404, "RESOURCE_NOT_FOUND", "Requested entity/entity provided in body was not found",
                              "No such operation."))
            replaced = JsonResponse(error.body(), status=response.status_code)
            if response.has_header("Allow"):
                replaced["Allow"] = response["Allow"]
            return replaced
        return response
