"""Fuzzing every form the URL resolver finds (issue 9, Tests): never a 500, never invalid data saved.

Every URL pattern is enumerated (operator pages as in test_permission_matrix.py, and the account,
sign-in and invitation pages), rendered with GET, and each <form> on it is posted by hypothesis
with its own field names: random text, unicode (NUL, lone surrogates, bidi overrides, invisible
characters), huge and odd numbers, missing and duplicated fields, unknown fields, random files,
urlencoded or multipart, and wrong charsets. GET forms (the list filters) get the same as query
strings. The checks after each request:

- no 500 (the test client raises the view's exception, with its traceback);
- a 4xx leaves every table of the portal's models exactly as it was;
- a wrong declared charset is a 400;
- every row that a 2xx/3xx response created or changed passes `full_clean()`.

A new form is covered without editing this file. Bounded: `FUZZ_EXAMPLES` examples per page
(default 12; e.g. `FUZZ_EXAMPLES=300 pytest tests/portal/test_fuzz_forms.py` for a long run).
"""
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, path
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from portal.celery import app as celery_app
from portal.permissions import Role
from tests import factories
from tests.factories import OperatorFactory, member
from tests.portal.test_permission_matrix import OBJECT_FACTORIES, ROUTES, _walk

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
BOUNDARY = "FuZzBoUnDaRy7MA4YWxkTrZu0gW"
LOGOUT = "/accounts/logout/"
# Our apps (every app whose code is in this repository: a new one is covered without editing this
# file) and the allauth apps whose models our pages and the admin write.
MODEL_APPS = {c.label for c in apps.get_app_configs()
              if Path(c.path).resolve().is_relative_to(Path(django_settings.BASE_DIR).resolve())
              and not Path(c.path).resolve().is_relative_to(Path(sys.prefix).resolve())} | {"account", "mfa"}

# --- the forms on a page ------------------------------------------------------------------------


class FormParser(HTMLParser):
    """Collects each <form>: method, action, enctype and its fields with their default values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.form, self.select, self.textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.form = {"method": a.get("method", "get").lower(), "action": a.get("action", ""),
                         "enctype": a.get("enctype", ""), "fields": {}, "files": set(), "choices": {}}
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind == "file":
                self.form["files"].add(a["name"])
            elif kind in ("checkbox", "radio"):
                self.form["choices"].setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    self.form["fields"].setdefault(a["name"], []).append(a.get("value", "on"))
                else:
                    self.form["fields"].setdefault(a["name"], [])
            elif kind not in ("submit", "button", "image", "reset"):
                self.form["fields"].setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "button" and a.get("name"):
            self.form["choices"].setdefault(a["name"], []).append(a.get("value", ""))
            self.form["fields"].setdefault(a["name"], [])
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
            self.form["fields"].setdefault(self.select, [])
        elif tag == "option" and self.select:
            self.form["choices"].setdefault(self.select, []).append(a.get("value", ""))
            if "selected" in a:
                self.form["fields"][self.select].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self.form["fields"].setdefault(self.textarea, []).append("")

    def handle_data(self, data):
        if self.textarea and self.form is not None:
            self.form["fields"][self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_on(client, url):
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return []
    parser = FormParser()
    parser.feed(response.content.decode())
    found = []
    for form in parser.forms:
        form["fields"].pop("csrfmiddlewaretoken", None)
        form["url"] = urlsplit(urljoin(url, form["action"] or url)).path
        if form["url"] == LOGOUT and url != LOGOUT:
            continue  # the layout's "Sign out" is on every page: fuzzed on its own URL only
        found.append(form)
    return found


# --- what gets sent -----------------------------------------------------------------------------

SPECIAL = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202eevil\u202c", "\u200b", "\u2066\u2069", "\ufeff",
    "\u00a0", "\r\n", "line\r\nbreak", "\t", "9" * 400, "-" + "9" * 60, "1e999999999", "-1e999999999", "1e-999999999",
    "NaN", "Infinity", "-0", "0x1F", "１２３", "٣٤٥", "9999-12-31", "0001-01-01", "2026-02-30", "99999-01-01",
    "23:59:60", "2026-13-01T25:61", "<script>x</script>", "' OR 1=1 --", "=HYPERLINK(\"http://x\")", "../../etc/passwd",
    "x" * 3000, "DK*ABC*E00001", "DK13585628", "DE89370400440532013000", "COBADEFFXXX", "+4520000004",
    "admin@demo.example", "a@b", "🔌⚡", "Ǆ" * 10, "supporter", "admin", "true", "on", "1", "0", "-1",
]
text = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),  # incl. lone surrogates
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(str),
)
FILES = [b"", b"\x00\xff\xfe" * 50, b"=cmd|' /C calc'!A0,x\r\n", b'{"data": [{"total_energy": 1e999999999}]}',
         b'{"data": [', "name;evse_id\nÆ;DK*ABC*E1\n".encode(), b"\xef\xbb\xbfa,b\n1,2\n", b"PK\x03\x04" + b"\x00" * 40]
CHARSETS = ["utf-7", "utf-16", "utf-32", "x-unknown", "rot13", "base64", "latin-1"]


@st.composite
def submission(draw, form):
    """A list of (name, value) pairs, files and an encoding for `form`. Mostly the form as shown
    with one or two fields changed (so that valid submissions with odd values get saved and
    checked), sometimes every field at random."""
    names = list(form["fields"])
    chaos = draw(st.integers(0, 3)) == 0
    changed = set(names) if chaos else draw(st.sets(st.sampled_from(names), min_size=1, max_size=2)) if names else set()
    pairs = []
    for name, defaults in form["fields"].items():
        choices = form["choices"].get(name, [])
        how = draw(st.sampled_from(["default", "missing", "fuzz", "fuzz", "choice", "duplicate"])) \
            if name in changed else "default"
        if how == "default":
            pairs += [(name, v) for v in defaults]
        elif how == "choice" and choices:
            pairs.append((name, draw(st.sampled_from(choices))))
        elif how == "duplicate":
            pairs += [(name, draw(text)) for _ in range(draw(st.integers(2, 3)))]
        elif how in ("fuzz", "choice"):
            pairs.append((name, draw(text)))
    for _ in range(draw(st.integers(0, 2 if chaos else 1))):  # fields the form does not have
        pairs.append((draw(st.sampled_from(["id", "pk", "operator", "operator_id", "is_default", "role", "x\x00",
                                            "__proto__", "name[]", ""])), draw(text)))
    files = [(name, draw(st.one_of(st.sampled_from(FILES), st.binary(max_size=300)))) for name in form["files"]
             if draw(st.booleans())]
    encoding = draw(st.sampled_from(["urlencoded", "multipart", "multipart", "bad-charset"]
                                    if form["method"] == "post" else ["query"]))
    return pairs, files, encoding, draw(st.sampled_from(CHARSETS))


def multipart(pairs, files):
    out = []
    for name, value in pairs:
        out += [f"--{BOUNDARY}".encode(), f'Content-Disposition: form-data; name="{name}"'.encode("utf-8", "surrogatepass"),
                b"", value.encode("utf-8", "surrogatepass")]
    for name, content in files:
        out += [f"--{BOUNDARY}".encode(), f'Content-Disposition: form-data; name="{name}"; filename="fuzz.csv"'.encode(),
                b"Content-Type: application/octet-stream", b"", content]
    out += [f"--{BOUNDARY}--".encode(), b""]
    return b"\r\n".join(out)


def send(client, form, pairs, files, encoding, charset):
    body = urlencode(pairs, encoding="utf-8", errors="surrogatepass")
    if encoding == "query":
        return client.generic("GET", f"{form['url']}?{body}")
    if encoding == "urlencoded":
        return client.generic("POST", form["url"], body.encode(), content_type="application/x-www-form-urlencoded")
    if encoding == "multipart":
        return client.generic("POST", form["url"], multipart(pairs, files),
                              content_type=f"multipart/form-data; boundary={BOUNDARY}")
    return client.generic("POST", form["url"], (body or "a=1").encode(),
                          content_type=f"application/x-www-form-urlencoded; charset={charset}")


# --- what the database holds --------------------------------------------------------------------

MODELS = [m for m in apps.get_models() if m._meta.app_label in MODEL_APPS and m._meta.managed
          and not m._meta.proxy and m._meta.model_name != "permission"]


def _fields(model):
    return [f.attname for f in model._meta.concrete_fields]


def _freeze(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return bytes(value) if isinstance(value, memoryview) else value


def _row(values):
    return tuple(_freeze(v) for v in values)


def snapshot():
    return {m: {_row(r) for r in m._base_manager.order_by().values_list(*_fields(m))} for m in MODELS}


def assert_saved_rows_are_valid(before, after, what):
    for model in MODELS:
        new = after[model] - before[model]
        if not new:
            continue
        names = _fields(model)
        for obj in model._base_manager.all():
            if _row(getattr(obj, n) for n in names) in new:
                try:
                    obj.full_clean()
                except ValidationError as exc:
                    raise AssertionError(f"{what} saved an invalid {model.__name__} {obj.pk}: {exc.message_dict}") from exc


def fuzz(client, forms, label):
    assert forms

    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        form = data.draw(st.sampled_from(forms))
        pairs, files, encoding, charset = data.draw(submission(form))
        # Each example in a savepoint that is rolled back: every example starts from the same
        # data (a deleted object is there again; a failure replays the same way when shrunk).
        with transaction.atomic():
            response = send(client, form, pairs, files, encoding, charset)
            after = snapshot()
            what = f"{label}: {form['method'].upper()} {form['url']} ({encoding})"
            assert response.status_code < 500, what
            if encoding == "bad-charset":
                assert response.status_code == 400, what
            if 400 <= response.status_code < 500:
                changed = {m.__name__ for m in MODELS if before[m] != after[m]}
                assert not changed, f"{what} answered {response.status_code} but changed {changed}"
            else:
                assert_saved_rows_are_valid(before, after, what)
            transaction.set_rollback(True)

    before = snapshot()
    run()


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads (CDR files) land in the test's folder
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # nothing queued to a real broker
    cache.clear()
    yield
    celery_app.conf.task_always_eager = eager
    cache.clear()  # the sign-in pages' rate limit counters must not reach later tests


# --- the pages ----------------------------------------------------------------------------------

OPERATOR_PAGES = [r for r, p in ROUTES if "GET" in p.callback.operator_permissions]
POST_ONLY = [r for r, p in ROUTES if "POST" in p.callback.operator_permissions
             and "GET" not in p.callback.operator_permissions]
OTHER_PAGES = [r for r, _p in _walk(get_resolver().url_patterns)
               if not r.startswith(("o/", "admin/")) and "(?P" not in r]


def operator_url(route, operator):
    url = "/" + route
    for name in re.findall(r"<(?:\w+:)?(\w+)>", route):
        value = operator.slug if name == "operator_slug" else OBJECT_FACTORIES[name](operator)
        url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url, count=1)
    return url


@pytest.fixture
def operator_admin():
    operator = OperatorFactory()
    client = Client()
    client.force_login(member(operator, Role.ADMIN))
    return operator, client


@pytest.mark.parametrize("route", OPERATOR_PAGES)
def test_fuzz_operator_page_forms(operator_admin, route):
    operator, client = operator_admin
    url = operator_url(route, operator)
    forms = [f for f in forms_on(client, url) if f["fields"] or f["files"] or f["method"] == "post"]
    if not forms:
        pytest.skip(f"/{route} has no form")
    fuzz(client, forms, f"Admin on /{route}")


@pytest.mark.parametrize("route", POST_ONLY)
def test_fuzz_operator_post_only_urls(operator_admin, route):
    # POST-only URLs (delete, make default, resend, ...): their forms live on other pages; the
    # fields they might read come from fuzzing (the form on the list page only has the CSRF token).
    operator, client = operator_admin
    fuzz(client, [{"method": "post", "url": operator_url(route, operator), "fields": {"confirm": ["1"]},
                   "files": set(), "choices": {}}], f"Admin on /{route}")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("route", OTHER_PAGES)
def test_fuzz_account_and_sign_in_forms(operator_admin, route, signed_in):
    operator, admin_client = operator_admin
    client = admin_client if signed_in else Client()
    url = "/" + route
    if "<int:invitation_id>" in route:
        user = factories.UserFactory()  # the invited user answers
        client.force_login(user)
        invitation = factories.InvitationFactory(operator=operator, user=user, email=user.email)
        url = url.replace("<int:invitation_id>", str(invitation.pk))
    url = re.sub(r"<(?:\w+:)?\w+>", "fuzz-token", url)
    forms = [f for f in forms_on(client, url) if f["method"] == "post" or f["fields"]]
    if not forms:
        pytest.skip(f"{url} shows no form {'when signed in' if signed_in else 'to anonymous visitors'}")
    fuzz(client, forms, f"{'signed in' if signed_in else 'anonymous'} on {url}")


# --- the fuzzer is not blind ----------------------------------------------------------------------


def _crashes_on_odd_numbers(request):
    from django.http import HttpResponse

    return HttpResponse(str(int(request.POST.get("count", "0"))))  # ValueError: a 500


def _saves_unchecked(request):
    from django.http import HttpResponse

    from charging.models import ChargePoint

    state = request.POST.get("state", "").replace("\x00", "")[:20]  # fits the column on any database
    ChargePoint.objects.update(state=state)
    return HttpResponse("saved")


urlpatterns = [path("crash/", _crashes_on_odd_numbers), path("unchecked/", _saves_unchecked)]


@pytest.mark.urls(__name__)
def test_the_fuzzer_finds_a_500_and_an_invalid_save(operator_admin):
    operator, client = operator_admin
    with pytest.raises(ValueError):
        fuzz(client, [{"method": "post", "url": "/crash/", "fields": {"count": ["1"]}, "files": set(),
                       "choices": {}}], "a view that trusts its input")
    factories.ChargePointFactory(operator=operator)
    with pytest.raises(AssertionError, match="saved an invalid ChargePoint"):
        fuzz(client, [{"method": "post", "url": "/unchecked/", "fields": {"state": ["available"]},
                       "files": set(), "choices": {"state": ["available", "busy"]}}], "a view that saves anything")
