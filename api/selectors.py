from api.models import ApiKey


def keys(*, operator):
    return list(ApiKey.objects.filter(operator=operator).select_related("created_by").order_by("-created_at", "-id"))
