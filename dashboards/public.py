"""The public link of a shared dashboard: `/d/<token>/` and `/d/<token>/csv/?chart=<key>`.

Apart from the portal on purpose: no shell template, no menu, no session (the middleware below
drops the portal's cookies on the way in and any Set-Cookie but the link's own on the way out),
no value taken from the query string — the saved dashboard decides everything. Unknown, private,
expired, revoked and locked links get one and the same "not available" page.
"""
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from dashboards import selectors, services, sharing
from dashboards.models import Dashboard, DashboardAccess
from dashboards.views import chart_csv, rendered
from portal.client_ip import client_ip

PREFIX = "/d/"
POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
          "base-uri 'none'")


class PublicLinkMiddleware:
    """For /d/…: the request carries no portal cookie (so no session, no user, no CSRF cookie is
    read), and the response sets none, carries noindex, no-referrer, a strict CSP and no caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        request.COOKIES = {k: v for k, v in request.COOKIES.items() if k == sharing.COOKIE}
        response = self.get_response(request)
        for name in list(response.cookies):
            if name != sharing.COOKIE:
                del response.cookies[name]
        response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
        response["Referrer-Policy"] = "no-referrer"
        response["Content-Security-Policy"] = POLICY
        response["Cache-Control"] = "no-store"
        response["X-Frame-Options"] = "DENY"
        response.headers.pop("Vary", None)  # nothing varies on a cookie of the portal's
        return response


def not_available(request):
    return render(request, "dashboards/public/not_available.html", status=404)


def _same_origin(request) -> bool:
    """The sign-in form posts to its own page: a post from another site's page is refused. Under
    `Referrer-Policy: no-referrer` browsers send `Origin: null` for the form's own posts, so null
    cannot be told apart and is let through: a cross-site post could at most sign a visitor in to
    a link the attacker already knows (the cookie is SameSite=Strict and scoped to the link), and
    its wrong passwords count against the attacker's own address."""
    origin = request.headers.get("Origin")
    if origin in (None, "null"):
        return True
    return origin == f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"


def _gate(request, token):
    """(dashboard, None) when the visitor may see it, else (dashboard or None, the response)."""
    dashboard = sharing.shared(token)
    if dashboard is None:
        return None, not_available(request)
    address, browser = client_ip(request) or "", request.headers.get("User-Agent", "")
    if sharing.too_many_views(dashboard, address):
        sharing.log_once_a_minute(dashboard, address, browser, DashboardAccess.Outcome.RATE_LIMITED)
        response = render(request, "dashboards/public/message.html", {
            "title": "Too many requests", "message": "This link was opened too often from your address. "
                                                     "Wait a minute and try again."}, status=429)
        response["Retry-After"] = "60"
        return dashboard, response
    if dashboard.visibility == Dashboard.Visibility.PASSWORD and not sharing.has_session(
            dashboard, request.COOKIES.get(sharing.COOKIE)):
        return dashboard, _sign_in(request, dashboard, token, address, browser)
    return dashboard, None


def _sign_in(request, dashboard, token, address, browser):
    error, status = "", 200
    if request.method == "POST":
        if not _same_origin(request):
            return HttpResponse("Forbidden", status=403, content_type="text/plain")
        with transaction.atomic():
            # one attempt at a time per link: parallel posts cannot all pass the count before any is logged
            Dashboard.objects.select_for_update().filter(pk=dashboard.pk).first()
            outcome = _attempt(request, dashboard, token, address, browser)
        if not isinstance(outcome, str):
            return outcome
        error, status = "Wrong username or password.", 401
        if outcome == "locked out":
            error, status = (f"Too many wrong passwords from your address. Try again in "
                             f"{int(sharing.ADDRESS_WINDOW.total_seconds() // 60)} minutes."), 429
    response = render(request, "dashboards/public/sign_in.html", {
        "dashboard_name": dashboard.name, "error": error,
        "username": request.POST.get("username", "")[:150] if request.method == "POST" else ""}, status=status)
    if status == 429:
        response["Retry-After"] = str(int(sharing.ADDRESS_WINDOW.total_seconds()))
    return response


def _attempt(request, dashboard, token, address, browser):
    """One sign-in attempt under the link's row lock: a response, or why it was refused
    ("locked out", "wrong")."""
    if sharing.locked_out(dashboard, address):
        sharing.log(dashboard, address, browser, DashboardAccess.Outcome.LOCKED_OUT)
        return "locked out"
    if sharing.check_password(dashboard, request.POST.get("username", "")[:150], request.POST.get("password", "")[:128]):
        sharing.log(dashboard, address, browser, DashboardAccess.Outcome.SIGNED_IN)
        response = redirect(request.path)
        response.status_code = 303
        response.set_cookie(sharing.COOKIE, sharing.session_value(dashboard), max_age=sharing.COOKIE_MAX_AGE,
                            path=sharing.cookie_path(token), secure=request.is_secure(), httponly=True,
                            samesite="Strict")
        return response
    if sharing.wrong_password(dashboard, address, browser):
        return not_available(request)
    return "wrong"


@csrf_exempt  # no portal session here to protect; the form checks its Origin
def public_dashboard(request, token):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    dashboard, refused = _gate(request, token)
    if refused is not None:
        return refused
    if request.method == "POST":  # already signed in: back to the page
        return redirect(request.path)
    view = selectors.dashboard_view(dashboard)
    sharing.log(dashboard, client_ip(request) or "", request.headers.get("User-Agent", ""),
                DashboardAccess.Outcome.VIEWED)
    services.dashboard_viewed(dashboard)
    return render(request, "dashboards/public/dashboard.html", {
        "dashboard": dashboard, "view": view, "charts": rendered(view), "operator_name": dashboard.operator.name,
        "token": token})


def public_csv(request, token):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    dashboard, refused = _gate(request, token)
    if refused is not None:
        return refused if dashboard is None or refused.status_code == 429 else not_available(request)
    response = chart_csv(selectors.dashboard_view(dashboard), request.GET.get("chart"), f"dashboard-{dashboard.kind}")
    sharing.log(dashboard, client_ip(request) or "", request.headers.get("User-Agent", ""),
                DashboardAccess.Outcome.DOWNLOADED)  # counted by the rate limit like a page view
    return response
