"""The audit log: `GET /auditlog/events` (search-audit-log) and `GET /auditlog/events/{eventId}`
(get-audit-log): the operator's portal.AuditEvent rows as the spec's AuditEvent.

Cursor pages as the spec's CursorBasedResponse: newest first; `meta.after` is the cursor of the
next (older) page, `meta.before` of the previous one, null where there is none; `before` is
ignored when `after` is given. The cursors are the portal's keyset cursors
(portal.pagination.seek_page: the boundary row's (created_at, id)), so every page is an index
range scan of `perPage + 1` rows however deep it is. A cursor that cannot be read is a 400.

Mapping: `id` is the event's UUID (the spec's id is a string); `action` CREATE/UPDATE/DELETE;
`entityType`/`entityId` the changed item (its type as the portal names it, e.g. "charge point");
`user` who acted: {"type": "user", "id", "email"}, {"type": "api-key", "name"} or
{"type": "system"}; `metadata`: the finer verb, the item's name, its parent, the field changes
(secrets already redacted by portal.audit) and the IP address, as the portal's audit log shows."""
import uuid
from datetime import datetime

from django.db.models import Q
from ninja import Field, Query, Router, Schema

from api.auth import scope
from api.errors import bad_request, not_found
from api.params import IsoTime, text
from portal.models import AuditEvent
from portal.pagination import seek_page

router = Router(tags=["Audit Log"])
ORDER = ["-created_at", "-id"]
ACTIONS = {"CREATE": AuditEvent.Action.CREATED, "UPDATE": AuditEvent.Action.UPDATED,
           "DELETE": AuditEvent.Action.DELETED}
ACTION_NAMES = {v: k for k, v in ACTIONS.items()}
API_KEY_LABEL = "API key "  # portal.audit._actor_label of an API key (ApiKey.audit_label)


class AuditEventOut(Schema):
    id: str
    timestamp: datetime
    operatorId: int
    user: dict
    teamId: int | None = None
    action: str
    entityId: str
    entityType: str
    metadata: dict


class CursorMeta(Schema):
    itemCount: int | None = None
    perPage: int
    after: str | None = None
    before: str | None = None


class AuditEventPage(Schema):
    data: list[AuditEventOut]
    meta: CursorMeta


def _user(event) -> dict:
    if event.actor_id is not None:
        return {"type": "user", "id": event.actor_id, "email": event.actor_label}
    if event.actor_label == "system":
        return {"type": "system"}
    if event.actor_label.startswith(API_KEY_LABEL):
        return {"type": "api-key", "name": event.actor_label}
    return {"type": "user", "id": None, "email": event.actor_label}  # a member since deleted


def serialize(event) -> dict:
    parent = ({"type": event.parent_type, "id": event.parent_id, "name": event.parent_repr}
              if event.parent_type else None)
    return {
        "id": str(event.pk), "timestamp": event.created_at, "operatorId": event.operator_id, "user": _user(event),
        "teamId": None, "action": ACTION_NAMES.get(event.action, event.action.upper()),
        "entityId": event.item_id, "entityType": event.item_type,
        "metadata": {"verb": event.verb or None, "entityName": event.item_repr, "parent": parent,
                     "changes": event.changes or {}, "ipAddress": event.ip_address},
    }


class AuditFilters(Schema):
    operatorId: int | None = Field(None, ge=1)
    userId: int | None = Field(None, ge=1, le=2**63 - 1)
    teamId: int | None = Field(None, ge=1)
    entityType: text(64) | None = None
    entityId: text(64) | None = None
    action: text(64) | None = Field(None, description="CREATE, UPDATE or DELETE, or a finer verb such as "
                                                      "`api_key.revoked`")
    search: text(200) | None = Field(None, description="Words that each appear in the user, item, type or verb")
    fromDate: IsoTime | None = None
    toDate: IsoTime | None = None
    perPage: int = Field(50, ge=1, le=10000)
    after: text(512) | None = None
    before: text(512) | None = None


def _events(request):
    return AuditEvent.objects.filter(operator=request.operator)


@router.get("/auditlog/events", response=AuditEventPage, operation_id="search-audit-log",
            summary="Retrieve audit events filtered by search criteria")
@scope("audit-log:read")
def search_audit_log(request, filters: Query[AuditFilters]):
    qs = _events(request)
    if any(i is not None and i != request.operator.pk for i in (filters.operatorId, filters.teamId)):
        qs = qs.none()
    if filters.fromDate and filters.toDate and filters.fromDate > filters.toDate:
        raise bad_request("fromDate: must not be after toDate.", [{"field": "fromDate",
                                                                    "message": "must not be after toDate"}])
    if filters.userId:
        qs = qs.filter(actor_id=filters.userId)
    if filters.entityType:
        qs = qs.filter(item_type__iexact=filters.entityType)
    if filters.entityId:
        qs = qs.filter(item_id=filters.entityId)
    if filters.action:
        action = ACTIONS.get(filters.action.upper())
        qs = qs.filter(action=action) if action else qs.filter(verb=filters.action)
    if filters.search:
        for word in filters.search.split()[:10]:
            qs = qs.filter(Q(actor_label__icontains=word) | Q(item_repr__icontains=word)
                           | Q(item_type__icontains=word) | Q(verb__icontains=word))
    if filters.fromDate:
        qs = qs.filter(created_at__gte=filters.fromDate)
    if filters.toDate:
        qs = qs.filter(created_at__lte=filters.toDate)
    # seek_page reads `after` / `before` from the query (validated above); `after` wins
    page = seek_page(_CursorOnly(request), qs, ORDER, size=filters.perPage)
    if page.error:
        which = "after" if filters.after else "before"
        raise bad_request(f"{which}: not a cursor from this API's `meta.{which}`.",
                          [{"field": which, "message": "Invalid cursor"}])
    return {"data": [serialize(e) for e in page.object_list],
            "meta": {"itemCount": len(page.object_list), "perPage": filters.perPage,
                     "after": page.next_cursor if page.has_next else None,
                     "before": page.previous_cursor if page.has_previous else None}}


class _CursorOnly:
    """The request as seek_page sees it: only `after` / `before` (not the portal's `last`)."""

    def __init__(self, request):
        self.GET = {k: request.GET[k] for k in ("after", "before") if request.GET.get(k)}


@router.get("/auditlog/events/{eventId}", response=AuditEventOut, operation_id="get-audit-log",
            summary="Retrieve single audit event by id")
@scope("audit-log:read")
def get_audit_log(request, eventId: str):
    try:
        pk = uuid.UUID(eventId) if len(eventId) <= 64 else None
    except ValueError:
        pk = None
    event = _events(request).filter(pk=pk).first() if pk else None
    if event is None:
        raise not_found("audit event")
    return serialize(event)
