"""Issue 9 #7: a request that declares a charset other than UTF-8, or is not UTF-8, is a 400 for
the whole portal (portal.middleware.RequestEncodingMiddleware), for anonymous visitors and members
alike; nothing is parsed, nothing saved."""
import pytest
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from operators.models import Operator
from portal.middleware import check_urlencoded, declared_charset_ok

pytestmark = pytest.mark.django_db

# utf-7 and utf-16 from the review; rot13/base64/zip/hex are Python codecs that are not text
# encodings (they answered 500 in multipart requests); an unknown name; odd spellings.
BAD_CHARSETS = ["utf-7", "utf-16", "UTF-16LE", "utf-32", "x-unknown", "rot13", "base64", "zip", "hex",
                "idna", "punycode", "unicode_escape", "utf-8-sig", "utf8", "us-ascii", "iso-8859-1", "cp1252", ""]
URLENCODED = "application/x-www-form-urlencoded; charset={}"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}; charset={{}}"


def _client(anonymous, admin_client):
    return Client() if anonymous else admin_client


@pytest.fixture
def targets(operator):
    return {True: "/accounts/login/", False: f"/o/{operator.slug}/settings/"}


@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "operator-admin"])
@pytest.mark.parametrize("charset", BAD_CHARSETS)
@pytest.mark.parametrize("content_type", [URLENCODED, MULTIPART, "text/plain; charset={}",
                                          "application/json; charset={}"])
def test_a_declared_charset_other_than_utf8_is_a_400(admin_client, operator, targets, anonymous, charset,
                                                     content_type):
    client = _client(anonymous, admin_client)
    client.raise_request_exception = False
    before = Operator.objects.values().get(pk=operator.pk)
    if content_type == MULTIPART:
        body = encode_multipart(BOUNDARY, {"login": "a@b.example", "password": "x", "name": "Renamed"})
    else:
        body = b"login=a%40b.example&password=x&name=Renamed"
    response = client.generic("POST", targets[anonymous], body, content_type=content_type.format(charset))
    assert response.status_code == 400, (charset, content_type, response.status_code)
    assert "other than UTF-8" in response.content.decode()
    assert Operator.objects.values().get(pk=operator.pk) == before


@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "operator-admin"])
def test_multipart_with_a_non_text_codec_was_a_500_and_is_a_400(admin_client, targets, anonymous):
    # The exact request that crashed Django's multipart parser (LookupError: 'rot13' is not a text encoding).
    client = _client(anonymous, admin_client)
    client.raise_request_exception = False
    body = encode_multipart(BOUNDARY, {"login": "a@b.example"})
    response = client.generic("POST", targets[anonymous], body, content_type=MULTIPART.format("rot13"))
    assert response.status_code == 400


def _wsgi(method, path, query="", content_type="", body=b""):
    """Call the production WSGI application (portal/wsgi.py) the way gunicorn does."""
    from io import BytesIO
    from wsgiref.util import setup_testing_defaults

    from portal.wsgi import application

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": BytesIO(body), "SERVER_NAME": "localhost"}
    setup_testing_defaults(environ)
    status = []
    response = application(environ, lambda s, headers, exc_info=None: status.append(s))
    content = b"".join(response)
    response.close()
    return int(status[0].split()[0]), content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method,content_type", [("GET", "text/plain; charset=rot13"),
                                                 ("POST", "text/plain; charset=base64"),
                                                 ("GET", 'text/plain; charset="utf-8\x00"')])
def test_a_charset_that_crashes_djangos_request_constructor_is_a_400(method, content_type):
    # Django's WSGIRequest raised LookupError / ValueError in its constructor, before any middleware:
    # gunicorn answered 500. portal.middleware.PortalWSGIRequest drops the charset; the check answers 400.
    status, content = _wsgi(method, "/accounts/login/", query="next=/", content_type=content_type, body=b"a=1")
    assert status == 400 and "other than UTF-8" in content
    assert _wsgi("GET", "/accounts/login/", query="next=/")[0] == 200


@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "operator-admin"])
@pytest.mark.parametrize("body", [
    b"login=%ED%A0%80&password=x",        # a lone surrogate (U+D800) is not UTF-8
    b"login=%FF%FE&password=x",           # not UTF-8 at all
    b"name=Bad%C3&password=x",            # truncated sequence
    b"%C0%AF=1",                          # overlong encoding in a field name
])
def test_a_form_body_that_is_not_utf8_is_a_400(admin_client, operator, targets, anonymous, body):
    client = _client(anonymous, admin_client)
    before = Operator.objects.values().get(pk=operator.pk)
    response = client.generic("POST", targets[anonymous], body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not valid UTF-8" in response.content.decode()
    assert Operator.objects.values().get(pk=operator.pk) == before


def test_a_query_string_that_is_not_utf8_is_a_400(admin_client, operator):
    assert admin_client.get(f"/o/{operator.slug}/charge-points/?q=%ED%A0%80").status_code == 400
    assert admin_client.get(f"/o/{operator.slug}/charge-points/?q=%C3%A6").status_code == 200  # "æ"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", URLENCODED.format("utf-8"),
                                          URLENCODED.format("UTF-8"), URLENCODED.format('"utf-8"')])
def test_utf8_passes(client, content_type):
    response = client.generic("POST", "/accounts/login/", b"login=%C3%A6%40b.example&password=x",
                              content_type=content_type)
    assert response.status_code == 200  # the sign-in form with its error, not a 400
    assert "other than UTF-8" not in response.content.decode()


def test_multipart_utf8_upload_still_works(admin_client, operator):
    body = encode_multipart(BOUNDARY, {"name": "Ærø Havn"})
    response = admin_client.generic("POST", f"/o/{operator.slug}/sites/new/", body, content_type=MULTIPART_CONTENT)
    assert response.status_code in (200, 302, 400) and "UTF-8" not in response.content.decode()


def test_the_400_page_carries_the_csp_and_no_inline_style(client):
    response = client.generic("POST", "/accounts/login/", b"a=1", content_type=URLENCODED.format("utf-7"))
    assert response.status_code == 400
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "style=" not in response.content.decode()


def test_helpers():
    assert declared_charset_ok("") and declared_charset_ok("text/html") and declared_charset_ok("a/b; charset=UTF-8")
    assert not declared_charset_ok("a/b; charset=utf-16") and not declared_charset_ok("a/b; charset=nope")
    assert not declared_charset_ok("a/b; charset=utf-8\x00")
    check_urlencoded("q=%C3%A6&x=1;y=2")
    check_urlencoded("q=\xc3\xa6")  # raw UTF-8 bytes as WSGI hands them over (latin-1 characters)
    with pytest.raises(ValueError):
        check_urlencoded("q=%ED%A0%80")
