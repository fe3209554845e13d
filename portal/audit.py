"""The one way to write an audit event.

Services call `record(...)` inside their transaction, so an event exists exactly when the change
does. The request's IP address reaches `record` through a context variable set by
`AuditContextMiddleware` (`portal.client_ip.client_ip`: X-Forwarded-For only from trusted
proxies); jobs run without one (actor "system", no IP).

Values are made JSON-safe here; models say which fields are secret (`AUDIT_SECRET_FIELDS`,
always "[redacted]") or masked (`AUDIT_MASKED_FIELDS`: field -> function giving the shown form),
so no caller can forget to redact.
"""
import contextvars
import datetime
import decimal
import uuid

from django.db import models
from django.utils import timezone

from portal.client_ip import client_ip
from portal.models import AuditEvent

REDACTED = "[redacted]"

_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_ip", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _request_ip.reset(token)


def _json_value(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, float):  # never money; kept only for completeness
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    return str(value)


def _shown(model_cls, field: str, value):
    if field in getattr(model_cls, "AUDIT_SECRET_FIELDS", ()):
        return REDACTED if value not in (None, "") else value
    masker = getattr(model_cls, "AUDIT_MASKED_FIELDS", {}).get(field)
    if masker and value not in (None, ""):
        return masker(value)
    return _json_value(value)


def snapshot(instance, fields) -> dict:
    """The audit-safe values of `fields` on `instance` (foreign keys by their string form)."""
    data = {}
    for name in fields:
        value = getattr(instance, name)
        data[name] = _shown(type(instance), name, value)
    return data


def diff(before: dict, after: dict) -> dict:
    """{"field": {"before": b, "after": a}} for the fields whose value changed."""
    keys = list(dict.fromkeys([*before, *after]))
    return {
        k: {"before": before.get(k), "after": after.get(k)}
        for k in keys
        if before.get(k) != after.get(k)
    }


def _label(obj) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    return obj._meta.verbose_name, str(obj.pk), str(obj)[:255]


def _actor_label(actor) -> str:
    """A member by their email, an API key by its name and client id (partner API writes), a job
    as "system"."""
    if actor is None:
        return "system"
    if getattr(actor, "is_api_key", False):
        return actor.audit_label[:254]
    return actor.email


def record(
    *,
    operator,
    actor,
    action: str,
    item,
    parent=None,
    changes: dict | None = None,
    verb: str = "",
    item_type: str | None = None,
) -> AuditEvent:
    """Write one audit event. `item` is the affected model instance (it may already be deleted:
    its pk and string form are read before). `changes` comes from `diff()`/`created_changes()`."""
    i_type, i_id, i_repr = _label(item)
    p_type, p_id, p_repr = _label(parent)
    return AuditEvent.objects.create(
        created_at=timezone.now(),
        operator=operator,
        actor=actor if actor is not None and actor.pk and not getattr(actor, "is_api_key", False) else None,
        actor_label=_actor_label(actor),
        action=action,
        verb=verb,
        item_type=item_type or i_type,
        item_id=i_id,
        item_repr=i_repr,
        parent_type=p_type,
        parent_id=p_id,
        parent_repr=p_repr,
        changes=changes or {},
        ip_address=_request_ip.get(),
    )


def created_changes(instance, fields) -> dict:
    return diff({}, snapshot(instance, fields))


def deleted_changes(instance, fields) -> dict:
    return diff(snapshot(instance, fields), {})
