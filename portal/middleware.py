"""Request hygiene that applies to the whole portal, before any view or other middleware reads
the request (docs/security.md, "Content Security Policy and request hygiene").

`RequestEncodingMiddleware`: the portal speaks UTF-8 only. A request that declares another
charset (`Content-Type: ...; charset=utf-7`, `utf-16`, `rot13`, an unknown name) or whose
query string or form body does not decode as UTF-8 is answered 400 with a short page, instead
of reaching Django's parsers (which answered 500 for some codecs, or silently replaced bytes).
"""
import logging
from urllib.parse import unquote_to_bytes

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponseBadRequest
from django.http.multipartparser import parse_header_parameters
from django.template.loader import render_to_string

# The one charset a request may declare: Django itself refuses (400) any other spelling for
# urlencoded forms, so the portal accepts exactly this everywhere.
ACCEPTED_CHARSET = "utf-8"
logger = logging.getLogger(__name__)
FORM_URLENCODED = "application/x-www-form-urlencoded"


class BadEncoding(ValueError):
    pass


def declared_charset_ok(content_type: str) -> bool:
    try:
        _media_type, params = parse_header_parameters(content_type)
    except (ValueError, TypeError):
        return False
    charset = params.get("charset")
    return charset is None or charset.strip().lower() == ACCEPTED_CHARSET


def check_urlencoded(raw: bytes | str) -> None:
    """Raise BadEncoding unless every name and value of an urlencoded string is UTF-8 once
    percent-decoded (lone surrogates such as %ED%A0%80 are not UTF-8)."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("iso-8859-1")  # WSGI gives the raw bytes as latin-1 characters
        except UnicodeEncodeError as exc:
            raise BadEncoding from exc
    try:
        for part in raw.replace(b";", b"&").split(b"&"):
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEncoding from exc


def bad_request(message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(render_to_string("400.html", {"message": message}))


class RequestEncodingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not declared_charset_ok(request.META.get("CONTENT_TYPE", "")):
            return bad_request("The request declares a character set other than UTF-8. Send it as UTF-8.")
        try:
            check_urlencoded(request.META.get("QUERY_STRING", ""))
            if request.content_type == FORM_URLENCODED and request.method not in ("GET", "HEAD"):
                check_urlencoded(request.body)
        except BadEncoding:
            return bad_request("The request is not valid UTF-8.")
        return self.get_response(request)


class PortalWSGIRequest(WSGIRequest):
    """Django's request applies the declared charset in its constructor, before any middleware
    runs, and raises there for some values: `charset=rot13` (a codec that is not a text
    encoding) with a query string raises LookupError, a NUL in the name ValueError, which the
    WSGI server answers 500. This request drops such a charset instead, so that
    `RequestEncodingMiddleware`, which reads the raw header, answers 400. Installed by
    portal/wsgi.py (the test client builds plain WSGIRequests: tests call the WSGI app)."""

    def _set_content_type_params(self, meta):
        try:
            super()._set_content_type_params(meta)
        except (LookupError, ValueError) as exc:
            logger.info("Request with an unusable charset in %r: %s", meta.get("CONTENT_TYPE", "")[:100], exc)
            self.__dict__.pop("GET", None)
            self.content_params = {}
            self._encoding = None
