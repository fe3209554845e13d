"""Charges (charging sessions): `GET /charges`, `GET /charges/{chargeId}`, read-only, with the
spec's Charge fields. What the portal does not hold (drivers, price groups, meter values, …) is
given as the spec's empty value of its type: null where the spec allows it, else "", [] or {}.

Mapping: `type` public/roaming → external, operator → operator, sponsored → sponsored; `state`
charging/stopped/completed as they are, failed and other → other (a failed charge has `failedAt`);
`completedAt` is `stoppedAt` of a completed charge; `updatedAt` is `createdAt` (charges are not
edited); `partnerExternalId` is the CDR/partner id. Money and energy are exact JSON numbers
(api/renderers.py). `fromDate`/`toDate` filter on `startedAt` (the list's order and index).

The list reads one page in (-startedAt, -id) order from the index charge_op_started, with the
charge point and site joined; the total comes from the rollups (dashboards/totals.py, exact)
unless a filter they do not hold is given."""
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.core.serializers.json import DjangoJSONEncoder
from ninja import Field, Query, Router, Schema
from pydantic import WithJsonSchema

from api import money as api_money
from api.auth import scope
from api.common import DateTime, check_team, owned
from api.errors import bad_request
from api.pages import PageMeta, PageParams, paged
from api.renderers import Numbers, fast_json
from api.routers.charge_points import Location, OperatorRef, operator_ref
from charging import selectors
from charging.models import Charge, ChargePoint, Site

router = Router(tags=["Charges"])

# exact digits in the JSON (a number, not a string): see api/renderers.py
Number = Annotated[Decimal, WithJsonSchema({"type": "number", "format": "double"})]
NullableNumber = Annotated[Decimal | None, WithJsonSchema({"anyOf": [{"type": "number", "format": "double"},
                                                                     {"type": "null"}]})]

ChargeState = Literal["paying", "reserved", "starting", "charging", "stopping", "paused", "scheduled", "stopped",
                      "releasing", "released", "completed", "other"]
FilterState = Literal["reserved", "starting", "charging", "stopping", "paused", "scheduled", "stopped", "completed"]
TYPES = {"public": "external", "roaming": "external", "operator": "operator", "sponsored": "sponsored"}
STATES = {"charging": "charging", "stopped": "stopped", "completed": "completed", "failed": "other",
          "other": "other"}


class PublicUser(Schema):
    id: int
    displayName: str


class Currency(Schema):
    identifier: str
    name: str
    decimals: int


class PublicChargePoint(Schema):
    id: int
    evseId: str
    name: str | None = None
    chargePointOperatorId: int
    chargePointOperatorName: str
    location: Location
    maxKw: NullableNumber = None
    chargePointModelId: int | None = None
    brandName: str | None = None
    modelName: str | None = None
    deletedAt: datetime | None = None


class KwhPerTime(Schema):
    time: datetime
    value: float = 0


# Objects the spec describes that this portal does not hold: always null here, typed as the spec
class ChargeAuthentication(Schema):
    id: str
    type: str


class GenericPaymentSession(Schema):
    externalId: str
    provider: str


class TeamName(Schema):
    publicName: str


class SignedData(Schema):
    endMeter: str
    format: str


class StateOfCharge(Schema):
    source: str


class TeamMemberRef(Schema):
    id: int


class ProtocolData(Schema):
    oicp: dict | None = None
    ocpi: dict | None = None


class ChargeOut(Schema):
    id: int
    humanReadableId: str
    user: PublicUser
    teamMember: TeamMemberRef | None = None
    type: Literal["external", "operator", "sponsored"]
    chargePointId: int
    publicChargePoint: PublicChargePoint
    sponsoredChargePointId: int | None = None
    costPriceGroupId: int | None = None
    memberCostPriceGroupId: int | None = None
    siteId: int | None = None
    promotionCodeId: int | None = None
    createdAt: datetime
    updatedAt: datetime
    cablePluggedInAt: datetime | None = None
    startedAt: datetime | None = None
    stoppedAt: datetime | None = None
    fullyChargedAt: datetime | None = None
    releasedAt: datetime | None = None
    failedAt: datetime | None = None
    timeoutAt: datetime | None = None
    completedAt: datetime | None = None
    state: ChargeState
    startSource: str | None = None
    consumedKwh: NullableNumber = None
    kwhLimit: float | None = None
    kwhPerHour: list[KwhPerTime]
    kwhPerMaxResolution: list[KwhPerTime]
    costBreakdown: list[KwhPerTime]
    priceBreakdown: list[KwhPerTime]
    startMeterKwh: float | None = None
    endMeterKwh: float | None = None
    price: NullableNumber = None
    priceLimit: float | None = None
    cost: NullableNumber = None
    averagePricePerKwh: NullableNumber = None
    averageCo2PerKwh: float | None = None
    averageRenewablePerKwh: float | None = None
    failureReason: str | None = None
    stopReason: str | None = None
    paymentMethod: Literal["free", "team-has-fund", "team-has-auto-refill", "source", "payment"] | None = None
    note: str | None = None
    currency: Currency | None = None
    payingTeam: TeamName | None = None
    sponsorTeam: TeamName | None = None
    operator: OperatorRef | None = None
    chargeAuth: ChargeAuthentication | None = None
    soc: StateOfCharge | None = None
    socLimit: float | None = None
    genericPaymentSession: GenericPaymentSession | None = None
    partnerExternalId: str | None = None
    smartChargeId: int | None = None
    partnerCustomPayload: dict | None = None
    chargePointKw: NullableNumber = None
    signedData: SignedData | None = None
    emaidProviderId: str
    vehicleId: int | None = None
    vid: str | None = None
    protocolData: ProtocolData


class ChargePage(Schema):
    data: list[ChargeOut]
    meta: PageMeta


def currency(code: str) -> dict | None:
    return api_money.currency(code) if code else None


def _time(value):
    """A datetime as the API writes it (DjangoJSONEncoder's form: milliseconds, "Z" for UTC), made
    here so that the JSON encoder calls back for nothing but the Decimals."""
    return None if value is None else _ENCODER.default(value)


_ENCODER = DjangoJSONEncoder()


def _location(row) -> dict:
    """The charge point's site as the spec's Location: the same as `location_of(site)`, with every
    field of its Address (the list is not re-validated), from the row's columns."""
    if row["charge_point__site_id"] is None:
        return {"coordinates": None, "addressLabel": None, "address": None}
    street, postcode, city, country, latitude, longitude = (row[f"charge_point__site__{name}"] for name in (
        "street", "postcode", "city", "country", "latitude", "longitude"))
    label = ", ".join(p for p in (street, f"{postcode} {city}".strip(), country) if p)
    return {
        "coordinates": ({"latitude": float(latitude), "longitude": float(longitude)}
                        if latitude is not None and longitude is not None else None),
        "addressLabel": label or None,
        "address": ({"address1": street, "address2": None, "address3": None, "zip": postcode, "city": city,
                     "province": None, "country": country or None, "countryAreaId": None}
                    if street or city else None),
    }


def serializer(request, numbers=None):
    """serialize(row of `_rows`) for this request's operator (read once, not joined per row).
    `numbers` (api.renderers.Numbers): amounts written as its tagged strings, for `fast_json`."""
    operator = operator_ref(request.operator)
    num = numbers.tag if numbers is not None else (lambda value: value)

    def serialize(row) -> dict:
        state, stopped_at = row["state"], _time(row["stopped_at"])
        created_at = _time(row["created_at"])
        failed = state == Charge.State.FAILED
        max_kw = num(row["charge_point__max_kw"])
        return {
            "id": row["id"], "humanReadableId": row["external_id"] or str(row["id"]),
            "user": {"id": 0, "displayName": ""}, "teamMember": None, "type": TYPES.get(row["type"], "external"),
            "chargePointId": row["charge_point_id"],
            "publicChargePoint": {
                "id": row["charge_point_id"], "evseId": row["charge_point__evse_id"],
                "name": row["charge_point__name"], "chargePointOperatorId": request.operator.pk,
                "chargePointOperatorName": request.operator.name, "location": _location(row), "maxKw": max_kw,
                "chargePointModelId": None, "brandName": row["charge_point__brand_name"] or None,
                "modelName": row["charge_point__model_name"] or None, "deletedAt": None},
            "sponsoredChargePointId": None, "costPriceGroupId": None, "memberCostPriceGroupId": None,
            "siteId": row["charge_point__site_id"], "promotionCodeId": None,
            "createdAt": created_at, "updatedAt": created_at, "cablePluggedInAt": None,
            "startedAt": _time(row["started_at"]), "stoppedAt": stopped_at, "fullyChargedAt": None,
            "releasedAt": None, "failedAt": (stopped_at or _time(row["started_at"])) if failed else None,
            "timeoutAt": None, "completedAt": stopped_at if state == Charge.State.COMPLETED else None,
            "state": STATES.get(state, "other"), "startSource": None, "consumedKwh": num(row["consumed_kwh"]),
            "kwhLimit": None, "kwhPerHour": [], "kwhPerMaxResolution": [], "costBreakdown": [],
            "priceBreakdown": [], "startMeterKwh": None, "endMeterKwh": None, "price": num(row["price"]),
            "priceLimit": None, "cost": None, "averagePricePerKwh": None, "averageCo2PerKwh": None,
            "averageRenewablePerKwh": None, "failureReason": row["failure_reason"] or None, "stopReason": None,
            "paymentMethod": None, "note": None, "currency": currency(row["currency"]), "payingTeam": None,
            "sponsorTeam": None, "operator": operator, "chargeAuth": None, "soc": None, "socLimit": None,
            "genericPaymentSession": None, "partnerExternalId": row["external_id"] or None, "smartChargeId": None,
            "partnerCustomPayload": None, "chargePointKw": max_kw, "signedData": None, "emaidProviderId": "",
            "vehicleId": None, "vid": None, "protocolData": {"oicp": None, "ocpi": None},
        }

    return serialize


# what a charge's JSON reads: one query, rows as dicts (no model instances)
FIELDS = ("id", "charge_point_id", "type", "state", "started_at", "stopped_at", "consumed_kwh", "price", "currency",
          "external_id", "failure_reason", "created_at", "charge_point__name", "charge_point__evse_id",
          "charge_point__max_kw", "charge_point__brand_name", "charge_point__model_name", "charge_point__site_id",
          "charge_point__site__street", "charge_point__site__postcode", "charge_point__site__city",
          "charge_point__site__country", "charge_point__site__latitude", "charge_point__site__longitude")


def _rows(qs):
    return qs.values(*FIELDS)


class ChargeFilters(PageParams):
    teamId: int | None = Field(None, description="Only this API key's operator (another id: 400)")
    operatorId: int | None = Field(None, description="Only this API key's operator (another id: 400)")
    chargePointId: int | None = Field(None, description="One of the operator's charge points (another id: 400)")
    siteId: int | None = Field(None, description="One of the operator's sites (another id: 400)")
    state: FilterState | None = None
    fromDate: DateTime | None = Field(None, description="startedAt >= fromDate")
    toDate: DateTime | None = Field(None, description="startedAt <= toDate")
    fromUpdatedDate: DateTime | None = None
    fromCompletedDate: DateTime | None = None
    toCompletedDate: DateTime | None = None
    chargeAuthType: Literal["rfid", "vehicleId"] | None = Field(None, description="Not held here: no charges")
    chargeAuthId: str | None = Field(None, description="Not held here: no charges")
    partnerExternalId: str | None = Field(None, description="The CDR/partner id; \"\": charges without one")
    operatorRole: Literal["owner", "payer"] | None = Field(None, description="payer: no charges")


def _owned_filter(qs, pk, name, what):
    row = qs.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if row is None:
        raise bad_request(f"{name}: no such {what}.", [{"field": name, "message": f"No such {what}."}])
    return row


def _narrowed(qs, filters) -> tuple:
    """`qs` with the filters the rollups do not hold, and whether there were any (then the
    total is a count of the charges)."""
    live = False  # a filter the rollups do not hold: count the charges
    if filters.state:
        qs = qs.filter(state=filters.state) if filters.state in ("charging", "stopped", "completed") else qs.none()
        live = True
    if filters.fromDate:
        qs, live = qs.filter(started_at__gte=filters.fromDate), True
    if filters.toDate:
        qs, live = qs.filter(started_at__lte=filters.toDate), True
    if filters.fromUpdatedDate:
        qs, live = qs.filter(created_at__gte=filters.fromUpdatedDate), True
    if filters.fromCompletedDate or filters.toCompletedDate:
        qs, live = qs.filter(state=Charge.State.COMPLETED), True
        if filters.fromCompletedDate:
            qs = qs.filter(stopped_at__gte=filters.fromCompletedDate)
        if filters.toCompletedDate:
            qs = qs.filter(stopped_at__lte=filters.toCompletedDate)
    if filters.partnerExternalId is not None:
        qs, live = qs.filter(external_id=filters.partnerExternalId), True
    if filters.chargeAuthType or filters.chargeAuthId or filters.operatorRole == "payer":
        qs, live = qs.none(), True
    return qs, live


@router.get("/charges", response=ChargePage, operation_id="get-charges", summary="Retrieve a list of charges")
@scope("charge-transactions:read")
def get_charges(request, filters: Query[ChargeFilters]):
    operator = request.operator
    check_team(request, teamId=filters.teamId, operatorId=filters.operatorId)
    if filters.fromDate and filters.toDate and filters.fromDate > filters.toDate:
        raise bad_request("toDate: before fromDate.", [{"field": "toDate", "message": "Before fromDate."}])
    rollup_filters = {}
    if filters.chargePointId is not None:
        rollup_filters["charge_point"] = _owned_filter(
            ChargePoint.objects.filter(operator=operator).only("id", "site_id"), filters.chargePointId,
            "chargePointId", "charge point")
    points = stale = None
    if filters.siteId is not None:
        rollup_filters["site"] = _owned_filter(Site.objects.filter(operator=operator).only("id"), filters.siteId,
                                               "siteId", "site")
        points, stale = selectors.site_points(operator=operator, site=rollup_filters["site"])
    qs = selectors.charges(operator=operator, filters=rollup_filters, site_points=points)
    qs, live = _narrowed(qs, filters)
    total = None if live else selectors.charge_totals(operator=operator, filters=rollup_filters, charges=qs,
                                                      site_stale=stale)["count"]
    parts = None
    if points and "charge_point" not in rollup_filters:
        # the page: each of the site's charge points read from its own index range (api.pages.paged)
        qs = _narrowed(selectors.charges(operator=operator, filters={**rollup_filters, "site": None}), filters)[0]
        parts = ("charge_point_id", points)
    numbers = Numbers()
    page = paged(qs, filters, serializer(request, numbers), total=total, parts=parts, columns=FIELDS)
    # Not re-validated by ChargePage (its rows are built to it, and the tests check them against
    # it): at 100 rows pydantic's pass over ~70 fields each cost 4 × the rest of the request.
    return fast_json(request, page, numbers)


@router.get("/charges/{chargeId}", response=ChargeOut, operation_id="get-charge", summary="Retrieve a single charge")
@scope("charge-transactions:read")
def get_charge(request, chargeId: int):
    return serializer(request)(owned(_rows(Charge.objects.filter(operator=request.operator).order_by()), chargeId,
                                     "charge"))
