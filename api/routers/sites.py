"""Sites: `GET/POST /sites`, `GET/PATCH/DELETE /sites/{siteId}`, with the spec's fields. Writes go
through the portal's SiteForm and services (same validation, same audit events; the actor is the
API key).

Mapping to the portal's Site: `address.address1` (+ `address2`, `address3`, joined with ", ") →
street, `zipCode` → postcode, `city` → city, `countryId` → country. The spec's `countryId` is the
platform's own country id; here it is the **ISO 3166-1 numeric code** (Denmark: 208), the only
country number the portal knows. `note` and `coordinates` (latitude/longitude) are not in the
spec's CreateSite/PatchSite: accepted here as optional extensions (they are in the Site read)."""
import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import pycountry
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Q
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from api.auth import scope
from api.common import check_team, domain_error, form_errors, owned
from api.errors import bad_request
from api.pages import PageMeta, PageParams, paged
from api.routers.charge_points import Location, OperatorRef, location_of, operator_ref
from charging import services
from charging.forms import SiteForm
from charging.models import ChargePoint, Connector, Site
from portal.errors import DomainError

router = Router(tags=["Sites"])

NonEmpty = Annotated[str, Field(min_length=1)]


class SiteConnector(Schema):
    identifier: str
    name: str


class SiteOut(Schema):
    id: int
    teamId: int | None = None
    partnerExternalId: str | None = None
    partnerCustomPayload: dict | None = None
    name: str
    operator: OperatorRef | None = None
    createdAt: datetime
    updatedAt: datetime
    deletedAt: datetime | None = None
    chargePointCount: int
    activeChargePointCount: int
    availableChargePointCount: int
    maxKW: float | None = None
    maxKw: float | None = None
    type: Literal["ac", "dc"] | None = None
    visibility: Literal["private", "public"]
    note: str | None = None
    location: Location
    connectors: list[SiteConnector]
    metadata: dict | None = None


class SitePage(Schema):
    data: list[SiteOut]
    meta: PageMeta


class AddressIn(Schema):
    address1: NonEmpty
    address2: NonEmpty | None = None
    address3: NonEmpty | None = None
    city: NonEmpty
    zipCode: NonEmpty
    countryId: int = Field(..., ge=0, description="ISO 3166-1 numeric country code (e.g. 208: Denmark)")
    countryAreaId: int | None = None


class CoordinatesIn(Schema):
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class CreateSite(Schema):
    teamId: int
    name: NonEmpty
    address: AddressIn
    visibility: Literal["private", "public"]
    partnerExternalId: str | None = None
    partnerCustomPayload: dict | None = None
    note: str | None = Field(None, description="Extension: the site's note")
    coordinates: CoordinatesIn | None = Field(None, description="Extension: the site's position")


class PatchSite(Schema):
    name: str | None = None
    address: AddressIn | None = None
    visibility: Literal["private", "public"] | None = None
    partnerExternalId: str | None = None
    partnerCustomPayload: dict | None = None
    note: str | None = Field(None, description="Extension: the site's note")
    coordinates: CoordinatesIn | None = Field(None, description="Extension: the site's position")


# portal form field → API field (for the 400's context)
NAMES = {"name": "name", "street": "address.address1", "postcode": "address.zipCode", "city": "address.city",
         "country": "address.countryId", "latitude": "coordinates.latitude", "longitude": "coordinates.longitude",
         "visibility": "visibility", "note": "note", "site": "siteId"}


# --- reading ---------------------------------------------------------------------------------------
def _sites(request):
    return Site.objects.filter(operator=request.operator)


def _serialize_many(request, sites: list) -> list[dict]:
    """The sites with their charge point figures: two queries for any number of sites."""
    ids = [s.pk for s in sites]
    figures = {row["site_id"]: row for row in (
        ChargePoint.objects.filter(operator=request.operator, site_id__in=ids).order_by().values("site_id")
        .annotate(n=Count("id"), active=Count("id", filter=~Q(state=ChargePoint.State.PASSIVE)),
                  available=Count("id", filter=Q(state=ChargePoint.State.AVAILABLE)),
                  ac=Count("id", filter=Q(type="ac")), dc=Count("id", filter=Q(type="dc")), max_kw=Max("max_kw")))
    } if ids else {}
    connectors: dict[int, list] = {}
    if ids:
        for site_id, identifier in (Connector.objects.filter(operator=request.operator,
                                                             charge_point__site_id__in=ids)
                                    .order_by("charge_point__site_id", "identifier")
                                    .values_list("charge_point__site_id", "identifier").distinct()):
            connectors.setdefault(site_id, []).append(
                {"identifier": identifier, "name": Connector.Identifier(identifier).label})
    operator = operator_ref(request.operator)
    return [_serialize(site, figures.get(site.pk), connectors.get(site.pk, []), operator) for site in sites]


def _serialize(site, figures, connectors, operator) -> dict:
    figures = figures or {"n": 0, "active": 0, "available": 0, "ac": 0, "dc": 0, "max_kw": None}
    max_kw = float(figures["max_kw"]) if figures["max_kw"] is not None else None
    kind = "ac" if figures["n"] and figures["ac"] == figures["n"] else (
        "dc" if figures["n"] and figures["dc"] == figures["n"] else None)
    return {
        "id": site.pk, "teamId": site.operator_id, "partnerExternalId": None, "partnerCustomPayload": None,
        "name": site.name, "operator": operator, "createdAt": site.created_at, "updatedAt": site.updated_at,
        "deletedAt": None, "chargePointCount": figures["n"], "activeChargePointCount": figures["active"],
        "availableChargePointCount": figures["available"], "maxKW": max_kw, "maxKw": max_kw, "type": kind,
        "visibility": site.visibility, "note": site.note or None, "location": location_of(site),
        "connectors": connectors, "metadata": None,
    }


def _one(request, site_id) -> dict:
    return _serialize_many(request, [owned(_sites(request), site_id, "site")])[0]


class SiteFilters(PageParams):
    teamId: int | None = Field(None, description="Only this API key's operator (another id: 400)")
    operatorId: int | None = Field(None, description="Only this API key's operator (another id: 400)")
    partnerExternalId: str | None = Field(None, description="Sites have none here: \"\" lists all, a value none")
    sortByLocation: str | None = Field(None, pattern=r"^(-?\d*\.\d+|\d+\.\d*)(,)(-?\d*\.\d+|\d+\.\d*)$",
                                       description="lat,long: nearest first (sites without coordinates last)")
    includePublic: bool = False
    includeDeleted: bool = Field(False, description="Deleted sites are not kept: no effect")


@router.get("/sites", response=SitePage, operation_id="get-sites", summary="Retrieve your (charge) sites")
@scope("charge-points:read")
def get_sites(request, filters: Query[SiteFilters]):
    check_team(request, teamId=filters.teamId, operatorId=filters.operatorId)
    qs = _sites(request).order_by("name", "id")
    if filters.partnerExternalId:
        qs = qs.none()
    if filters.sortByLocation:
        lat, lon = (float(v) for v in filters.sortByLocation.split(","))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad_request("sortByLocation: not a position.",
                              [{"field": "sortByLocation", "message": "Latitude -90…90, longitude -180…180."}])
        # equirectangular distance²: enough to order by nearness (no trigonometry in SQL)
        scale = math.cos(math.radians(lat))
        distance = ExpressionWrapper((F("latitude") - lat) * (F("latitude") - lat)
                                     + (F("longitude") - lon) * (F("longitude") - lon) * scale * scale,
                                     output_field=FloatField())
        qs = qs.annotate(distance=distance).order_by(F("distance").asc(nulls_last=True), "id")
    page = paged(qs, filters, lambda site: site)
    page["data"] = _serialize_many(request, page["data"])
    return page


@router.get("/sites/{siteId}", response=SiteOut, operation_id="get-site", summary="Retrieve a single (charge) site")
@scope("charge-points:read")
def get_site(request, siteId: int):
    return _one(request, siteId)


# --- writing ---------------------------------------------------------------------------------------
def _country(country_id: int) -> str:
    found = pycountry.countries.get(numeric=f"{country_id:03d}") if 0 <= country_id <= 999 else None
    if found is None:
        raise bad_request("address.countryId: not an ISO 3166-1 numeric country code.",
                          [{"field": "address.countryId", "message": "Not an ISO 3166-1 numeric country code "
                                                                     "(e.g. 208: Denmark)."}])
    return found.alpha_2


def _form_data(body: dict, site=None) -> dict:
    """The portal form's data: the site as it is (for a patch), then the body's fields. A null
    name, address or visibility leaves it as it is; a null note or coordinates clears it."""
    data = {}
    if site is not None:
        data = {"name": site.name, "street": site.street, "postcode": site.postcode, "city": site.city,
                "country": site.country, "latitude": "" if site.latitude is None else str(site.latitude),
                "longitude": "" if site.longitude is None else str(site.longitude),
                "visibility": site.visibility, "note": site.note}
    for name in ("name", "visibility"):
        if body.get(name) is not None:
            data[name] = body[name]
    if body.get("address") is not None:
        address = body["address"]
        data.update(street=", ".join(address[p] for p in ("address1", "address2", "address3") if address.get(p)),
                    postcode=address["zipCode"], city=address["city"], country=_country(address["countryId"]))
    if "note" in body:
        data["note"] = body["note"] or ""
    if "coordinates" in body:
        coordinates = body["coordinates"] or {}
        for name in ("latitude", "longitude"):
            if name in coordinates or not coordinates:
                value = coordinates.get(name)
                data[name] = "" if value is None else str(value)
    return data


def _validated(data, site=None) -> dict:
    form = SiteForm(data, instance=site)
    if not form.is_valid():
        raise form_errors(form, NAMES)
    return {f: form.cleaned_data[f] for f in SiteForm.Meta.fields}


@router.post("/sites", response={201: SiteOut}, operation_id="post-site", summary="Create a (charge) site")
@scope("charge-points:write")
def post_site(request, body: CreateSite):
    if body.teamId != request.operator.pk:
        raise bad_request("teamId: not this API key's operator.", [{"field": "teamId", "message": "Unknown team."}])
    data = _form_data(body.model_dump(exclude_unset=True))
    try:
        site = services.site_create(operator=request.operator, actor=request.api_key, data=_validated(data))
    except DomainError as exc:
        raise domain_error(exc, NAMES) from None
    return Status(201, _one(request, site.pk))


@router.patch("/sites/{siteId}", response=SiteOut, operation_id="patch-site", summary="Patch an existing (charge) site")
@scope("charge-points:write")
def patch_site(request, siteId: int, body: PatchSite):
    site = owned(_sites(request), siteId, "site")
    data = _form_data(body.model_dump(exclude_unset=True), site)
    try:
        services.site_update(operator=request.operator, actor=request.api_key, site_id=site.pk,
                             data=_validated(data, site))
    except DomainError as exc:
        raise domain_error(exc, NAMES) from None
    return _one(request, site.pk)


@router.delete("/sites/{siteId}", response={204: None}, operation_id="delete-site",
               summary="Delete an existing (charge) site")
@scope("charge-points:delete")
def delete_site(request, siteId: int):
    """Unlike the spec (which moves the site's charge points off it), the portal refuses to delete
    a site that still has charge points or is a dashboard's filter: 400 with the reason."""
    site = owned(_sites(request), siteId, "site")
    try:
        services.site_delete(operator=request.operator, actor=request.api_key, site_id=site.pk)
    except DomainError as exc:
        raise domain_error(exc, NAMES) from None
    return Status(204, None)
