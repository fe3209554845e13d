"""Keyset pages (portal/pagination.py) through the real list pages: walking Next to the end and
Previous back visits every row exactly once in order, with ties on the sort key, filters kept;
Last is the tail; a bad cursor is a 400 with the first page, never a 500."""
import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from charging.models import Charge
from portal import audit
from tests.factories import ChargeFactory, ChargePointFactory, SiteFactory

pytestmark = pytest.mark.django_db


def link(html, testid):
    found = re.search(rf'href="([^"]*)"[^>]*data-testid="{testid}"', html)
    return unescape(found.group(1)) if found else None


def rows_of(response):
    return [c.pk for c in response.context["page"]]


def walk(client, url):
    """Every page from the first by Next, then back by Previous: (forward ids, backward ids)."""
    forward, pages, response = [], [], client.get(url)
    while True:
        assert response.status_code == 200
        pages.append(rows_of(response))
        forward += pages[-1]
        nxt = link(response.content.decode(), "page-next")
        if not nxt:
            break
        response = client.get(url.split("?")[0] + nxt)
    backward = [pages[-1]]
    while True:
        prev = link(response.content.decode(), "page-previous")
        if not prev:
            break
        response = client.get(url.split("?")[0] + prev)
        backward.insert(0, rows_of(response))
    return forward, pages, backward, response


def test_charges_walk_forward_and_back_with_ties_and_a_filter(admin_client, operator):
    site = SiteFactory(operator=operator)
    here, elsewhere = ChargePointFactory(operator=operator, site=site), ChargePointFactory(operator=operator)
    at = timezone.now() - timedelta(days=3)
    for i in range(130):  # groups of five with the same start: the id breaks the tie
        ChargeFactory(operator=operator, charge_point=here if i % 3 else elsewhere,
                      started_at=at - timedelta(minutes=i // 5), stopped_at=at + timedelta(hours=1))
    url = f"/o/{operator.slug}/charges/?site={site.pk}"
    expected = list(Charge.objects.filter(operator=operator, charge_point__site=site)
                    .order_by("-started_at", "-id").values_list("pk", flat=True))
    forward, pages, backward, first = walk(admin_client, url)
    assert forward == expected and len(pages) == 2 and [len(p) for p in pages] == [50, len(expected) - 50]
    assert backward == pages  # Previous gives back exactly the pages Next gave
    assert link(first.content.decode(), "page-previous") is None  # back at the start
    start = admin_client.get(url).content.decode()
    assert link(start, "page-first") is None and link(start, "page-previous") is None and link(start, "page-last")
    last = admin_client.get(url + "&last=1")
    assert rows_of(last) == expected[-50:] and link(last.content.decode(), "page-next") is None
    assert f"site={site.pk}" in link(last.content.decode(), "page-previous")  # the filter kept


@pytest.mark.parametrize("extra", ["", "&date_from={day}", "&state=failed"])
def test_a_sites_charges_read_per_charge_point_are_the_same_pages(admin_client, operator, extra):
    """A site with several charge points: each one's index range is read on its own and the page
    taken from their tops (portal.pagination._rows); ties on the start across charge points."""
    site = SiteFactory(operator=operator)
    points = [ChargePointFactory(operator=operator, site=site) for _ in range(4)]
    elsewhere = ChargePointFactory(operator=operator)
    at = timezone.now() - timedelta(days=3)
    for i in range(190):  # the same start on several charge points at once; most at one of them
        ChargeFactory(operator=operator, charge_point=elsewhere if i % 7 == 0 else points[0 if i % 3 else i % 4],
                      started_at=at - timedelta(minutes=i // 4), stopped_at=at + timedelta(hours=1),
                      state="failed" if i % 5 == 0 else "completed")
    url = f"/o/{operator.slug}/charges/?site={site.pk}" + extra.format(day=(at - timedelta(minutes=30)).date())
    expected = Charge.objects.filter(operator=operator, charge_point__site=site)
    if "state" in extra:
        expected = expected.filter(state="failed")
    expected = list(expected.order_by("-started_at", "-id").values_list("pk", flat=True))
    assert len(expected) > 50 or "state" in extra
    forward, pages, backward, _ = walk(admin_client, url)
    assert forward == expected and backward == pages
    last = admin_client.get(url + "&last=1")
    assert rows_of(last) == expected[-50:]
    one = admin_client.get(url + f"&charge_point={points[1].pk}")  # with a charge point of the site too
    assert rows_of(one) == [pk for pk in expected if Charge.objects.get(pk=pk).charge_point_id == points[1].pk][:50]


@pytest.mark.parametrize("cursor", ["!!!", "WzFd", "eyJ4IjoxfQ", "WyJub3QgYSBkYXRlIiwxXQ", "WyIyMDI2LTAxLTAxIiwiYSJd",
                                    "W251bGwsMV0", "W3RydWUsMV0", "QUFB" * 2000,
                                    # nested JSON (RecursionError), and times that overflow in UTC or are naive
                                    "WyJb" + "W1tb" * 700, "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzA1OjAwIiwxXQ",
                                    "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTA1OjAwIiwxXQ", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwxXQ"])
def test_a_bad_cursor_is_a_400_with_the_first_page(admin_client, operator, cursor):
    ChargeFactory(operator=operator)
    for param in ("after", "before"):
        response = admin_client.get(f"/o/{operator.slug}/charges/", {param: cursor})
        assert response.status_code == 400, (param, cursor)
        assert "That page link could not be read" in response.content.decode() and len(rows_of(response)) == 1


def test_a_cursor_only_moves_within_the_operator(admin_client, operator, other_operator):
    mine = ChargeFactory(operator=operator)
    ChargeFactory(operator=other_operator, started_at=mine.started_at - timedelta(hours=1))
    first = admin_client.get(f"/o/{operator.slug}/charges/?last=1")
    assert rows_of(first) == [mine.pk]
    from portal.pagination import _encode

    far = _encode([mine.started_at + timedelta(days=1), 10**9])
    assert rows_of(admin_client.get(f"/o/{operator.slug}/charges/", {"after": far})) == [mine.pk]


def test_audit_log_pages_newest_first(admin_client, admin_user, operator):
    for i in range(60):
        audit.record(operator=operator, actor=admin_user, action="updated", item=operator,
                     changes={"n": {"before": i, "after": i + 1}})
    url = f"/o/{operator.slug}/audit-log/"
    forward, pages, backward, _ = walk(admin_client, url)
    assert len(forward) == len(set(forward)) >= 60 and [len(p) for p in pages][0] == 50 and backward == pages
    html = admin_client.get(url).content.decode()
    assert "Older →" in html and "Newer" not in html
