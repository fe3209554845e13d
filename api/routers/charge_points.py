"""Charge points: `GET/POST /charge-points`, `GET/PATCH/DELETE /charge-points/{chargePointId}`,
with the spec's fields. Writes go through the portal's form and services (same validation, same
audit events; the actor is the API key)."""
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django import forms
from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema, Status

from api.auth import scope
from api.common import DateTime, check_team, domain_error, form_errors, owned
from api.errors import bad_request
from api.pages import PageMeta, PageParams, paged
from api.schemas import Out, respond
from charging import services
from charging.forms import ChargePointForm
from charging.models import ChargePoint, Connector, Site
from portal.errors import DomainError

router = Router(tags=["Charge Points"])

States = Literal["available", "busy", "busy-blocked", "busy-charging", "busy-non-charging", "busy-non-released",
                 "busy-reserved", "busy-scheduled", "error", "disconnected", "passive", "maintenance", "other"]


class Coordinates(Out):
    latitude: float
    longitude: float


class Address(Out):
    address1: str
    address2: str | None = None
    address3: str | None = None
    zip: str
    city: str
    province: str | None = None
    country: str | None = None
    countryAreaId: int | None = None


class Location(Out):
    coordinates: Coordinates | None = None
    addressLabel: str | None = None
    address: Address | None = None


class OperatorRef(Out):
    id: int
    name: str
    identifier: str
    partnerId: int | None = None
    vatNumber: str | None = None


class ConnectorOut(Out):
    id: int
    identifier: str
    name: str


class Deeplinks(Out):
    app: str
    web: str


class ChargePointOut(Out):
    id: int
    teamId: int
    partnerExternalId: str | None = None
    siteId: int | None = None
    operator: OperatorRef | None = None
    createdAt: datetime
    updatedAt: datetime
    deletedAt: datetime | None = None
    serialNumber: str | None = None
    name: str | None = None
    visibility: Literal["public", "private"]
    maxKw: float | None = None
    maxKW: float | None = None
    type: Literal["ac", "dc"] | None = None
    note: str | None = None
    state: str | None = None
    location: Location
    connectors: list[ConnectorOut]
    deeplinks: Deeplinks
    brandName: str | None = None
    modelName: str | None = None
    evseId: str  # required and not nullable in the spec: "" when the charge point has none
    isActive: bool
    reservable: bool
    roaming: bool
    cablePluggedIn: bool
    showOnMap: bool
    protocolData: dict


class ChargePointPage(Out):
    data: list[ChargePointOut]
    meta: PageMeta


def operator_ref(operator) -> dict:
    return {"id": operator.pk, "name": operator.name, "identifier": operator.slug, "partnerId": None,
            "vatNumber": operator.vat_number or None}


def location_of(site) -> dict:
    if site is None:
        return {"coordinates": None, "addressLabel": None, "address": None}
    coordinates = ({"latitude": float(site.latitude), "longitude": float(site.longitude)}
                   if site.latitude is not None and site.longitude is not None else None)
    address = ({"address1": site.street, "zip": site.postcode, "city": site.city, "country": site.country or None}
               if site.street or site.city else None)
    return {"coordinates": coordinates, "addressLabel": site.address or None, "address": address}


def serialize(cp, operator=None) -> dict:
    max_kw = float(cp.max_kw) if cp.max_kw is not None else None
    return {
        "id": cp.pk, "teamId": cp.operator_id, "partnerExternalId": None, "siteId": cp.site_id,
        "operator": operator_ref(operator or cp.operator), "createdAt": cp.created_at, "updatedAt": cp.updated_at,
        "deletedAt": None, "serialNumber": cp.serial_number or None, "name": cp.name, "visibility": cp.visibility,
        "maxKw": max_kw, "maxKW": max_kw, "type": cp.type, "note": cp.note or None, "state": cp.state,
        "location": location_of(cp.site),
        "connectors": [{"id": c.pk, "identifier": c.identifier, "name": str(c)} for c in cp.connector_list],
        "deeplinks": {"app": "", "web": ""}, "brandName": cp.brand_name or None, "modelName": cp.model_name or None,
        "evseId": cp.evse_id, "isActive": cp.state != ChargePoint.State.PASSIVE, "reservable": False,
        "roaming": bool(cp.evse_id), "cablePluggedIn": False, "showOnMap": cp.visibility == "public",
        "protocolData": {},
    }


def _points(request):
    # (the operator is the request's: not joined and built again for every row)
    return (ChargePoint.objects.filter(operator=request.operator).select_related("site")
            .prefetch_related(Prefetch("connectors", queryset=Connector.objects.order_by("id"), to_attr="connector_list")))


class ChargePointFilters(PageParams):
    siteId: int | None = Field(None, ge=1, le=2**63 - 1, description="Allows to filter list of charge points by a site id")
    teamId: int | None = Field(None, ge=1)
    operatorId: int | None = Field(None, ge=1)
    state: States | None = None
    fromUpdatedDate: DateTime | None = None
    includeDeleted: bool = False


@router.get("/charge-points", response=ChargePointPage, operation_id="get-charge-points",
            summary="Retrieve a list of charge points")
@scope("charge-points:read")
def get_charge_points(request, filters: Query[ChargePointFilters]):
    qs = _points(request).order_by("id")
    check_team(request, teamId=filters.teamId, operatorId=filters.operatorId)
    if filters.siteId:
        qs = qs.filter(site_id=filters.siteId)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.fromUpdatedDate:
        qs = qs.filter(updated_at__gte=filters.fromUpdatedDate)
    ref = request.operator
    return respond(request, ChargePointPage, paged(qs, filters, lambda cp: serialize(cp, ref)))


@router.get("/charge-points/{chargePointId}", response=ChargePointOut, operation_id="get-charge-point",
            summary="Retrieve a single charge point")
@scope("charge-points:read")
def get_charge_point(request, chargePointId: int):
    return serialize(owned(_points(request), chargePointId, "charge point"), request.operator)


class CreateChargePoint(Schema):
    teamId: int | None = None
    siteId: int | None = None
    chargePointModelId: int | None = None
    name: str
    maxKw: Decimal | None = None
    visibility: Literal["public", "private"] = "public"
    type: Literal["ac", "dc"] = "ac"
    active: bool | None = None
    showOnMap: bool | None = None
    note: str | None = None
    partnerExternalId: str | None = None
    serialNumber: str | None = None
    evseId: str | None = None
    brandName: str | None = None
    modelName: str | None = None
    state: States | None = None


class PatchChargePoint(Schema):
    siteId: int | None = None
    name: str | None = None
    maxKw: Decimal | None = None
    visibility: Literal["public", "private"] | None = None
    type: Literal["ac", "dc"] | None = None
    active: bool | None = None
    note: str | None = None
    serialNumber: str | None = None
    evseId: str | None = None
    brandName: str | None = None
    modelName: str | None = None
    state: States | None = None


# API field → portal form field
FIELDS = {"name": "name", "siteId": "site", "serialNumber": "serial_number", "evseId": "evse_id",
          "brandName": "brand_name", "modelName": "model_name", "type": "type", "maxKw": "max_kw",
          "visibility": "visibility", "state": "state", "note": "note"}
NAMES = {form: api for api, form in FIELDS.items()}


def _form_data(body: dict, cp=None) -> dict:
    """The portal form's data: the charge point as it is (for a patch), then the body's fields."""
    data = {}
    if cp is not None:
        data = {"name": cp.name, "site": cp.site_id or "", "serial_number": cp.serial_number, "evse_id": cp.evse_id,
                "brand_name": cp.brand_name, "model_name": cp.model_name, "type": cp.type,
                "max_kw": "" if cp.max_kw is None else str(cp.max_kw), "visibility": cp.visibility,
                "state": cp.state, "note": cp.note}
    for api_name, form_name in FIELDS.items():
        if api_name in body:
            value = body[api_name]
            data[form_name] = "" if value is None else str(value)
    if "active" in body and body["active"] is not None and "state" not in body:
        if body["active"] is False:
            data["state"] = ChargePoint.State.PASSIVE
        elif data.get("state") == ChargePoint.State.PASSIVE:
            data["state"] = ChargePoint.State.AVAILABLE
    return data


def _validated(request, data, cp=None):
    form = ChargePointForm(data, instance=cp, operator=request.operator)
    # siteId is an id: the portal's picker reads a typed name first above 100 sites (review: a site
    # called "6" took siteId 6, and a patch of the name alone moved the charge point to it)
    form.fields["site"] = forms.ModelChoiceField(queryset=Site.objects.filter(operator=request.operator),
                                                 required=False)
    if not form.is_valid():
        raise form_errors(form, NAMES)
    return {f: form.cleaned_data[f] for f in ChargePointForm.Meta.fields}


@router.post("/charge-points", response={201: ChargePointOut}, operation_id="post-charge-point",
             summary="Create a charge point")
@scope("charge-points:write")
def post_charge_point(request, body: CreateChargePoint):
    # the fields sent (explicit nulls too) and the schema's defaults (visibility, type)
    given = {**body.model_dump(exclude_none=True), **body.model_dump(exclude_unset=True)}
    if body.teamId is not None and body.teamId != request.operator.pk:
        raise bad_request("teamId: not this API key's operator.", [{"field": "teamId", "message": "Unknown team."}])
    data = _form_data({"state": ChargePoint.State.AVAILABLE, **given})
    try:
        cp = services.charge_point_create(operator=request.operator, actor=request.api_key,
                                          data=_validated(request, data))
    except DomainError as exc:
        raise domain_error(exc, NAMES) from None
    return Status(201, serialize(owned(_points(request), cp.pk, "charge point"), request.operator))


@router.patch("/charge-points/{chargePointId}", response=ChargePointOut, operation_id="patch-charge-point",
              summary="Patch an existing charge point")
@scope("charge-points:write")
def patch_charge_point(request, chargePointId: int, body: PatchChargePoint):
    cp = owned(_points(request), chargePointId, "charge point")
    data = _form_data(body.model_dump(exclude_unset=True), cp)
    try:
        services.charge_point_update(operator=request.operator, actor=request.api_key, charge_point_id=cp.pk,
                                     data=_validated(request, data, cp))
    except DomainError as exc:
        raise domain_error(exc, NAMES) from None
    return serialize(owned(_points(request), cp.pk, "charge point"), request.operator)


@router.delete("/charge-points/{chargePointId}", response={204: None}, operation_id="delete-charge-point",
               summary="Delete an existing charge point")
@scope("charge-points:delete")
def delete_charge_point(request, chargePointId: int):
    cp = owned(_points(request), chargePointId, "charge point")
    try:
        services.charge_point_delete(operator=request.operator, actor=request.api_key, charge_point_id=cp.pk)
    except DomainError as exc:
        raise domain_error(exc, NAMES) from None
    return Status(204, None)
