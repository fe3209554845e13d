"""Roles and what they may do: the single place that maps roles to named permissions.

Views declare the permission they need (see `portal.tenancy.operator_view`); no other code
compares role names. The README's role matrix is this table.
"""
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    BOOKKEEPER = "bookkeeper", "Bookkeeper"
    SUPPORTER = "supporter", "Supporter"


ROLE_DESCRIPTIONS = {
    Role.ADMIN: (
        "Needs access to everything under the Operator account, including client teams. "
        "Can view, create, update and delete items wherever it's possible."
    ),
    Role.MANAGER: (
        "Manages operations: can access all teams, and update and create new items. "
        "Cannot withdraw or deposit money."
    ),
    Role.BOOKKEEPER: (
        "Can view transactions, wallet and all finance-related areas; can withdraw and "
        "deposit money and make refunds."
    ),
    Role.SUPPORTER: "Can view all relevant areas, but cannot update or create new items.",
}

# Higher number = more authority. A member may only grant or manage roles at or below their own.
ROLE_PRIORITY = {Role.SUPPORTER: 10, Role.BOOKKEEPER: 20, Role.MANAGER: 30, Role.ADMIN: 40}

A, M, B, S = Role.ADMIN, Role.MANAGER, Role.BOOKKEEPER, Role.SUPPORTER

# permission -> (what it allows, roles that hold it)
PERMISSIONS: dict[str, tuple[str, frozenset[str]]] = {
    "overview:read": ("See the Operator overview", frozenset({A, M, B, S})),
    "settings:read": ("See the company settings", frozenset({A, M, B, S})),
    "settings:write": ("Edit the company settings", frozenset({A, M})),
    "bank_accounts:read": ("See bank accounts", frozenset({A, B})),
    "bank_accounts:write": ("Add, remove and choose the default bank account", frozenset({A, B})),
    "members:read": ("See members and invitations", frozenset({A, M, S})),
    "members:write": ("Invite, change and remove members", frozenset({A})),
    "billing:read": ("See billing, invoices and support", frozenset({A, M, B})),
    "installer:write": ("Edit the installer settings", frozenset({A, M})),
    "wallet:read": ("See wallet transactions", frozenset({A, M, B, S})),
    "wallet:write": ("Withdraw, deposit and refund money", frozenset({A, B})),
    "payouts:read": ("See payouts and their statements", frozenset({A, B})),
    "charging:read": ("See sites, charge points and charges", frozenset({A, M, B, S})),
    "charging:write": ("Create, edit and delete sites and charge points", frozenset({A, M})),
    "credentials:read": ("See third-party credentials", frozenset({A, M})),
    "credentials:write": ("Create, replace and delete credentials", frozenset({A, M})),
    "dashboards:read": ("See dashboards", frozenset({A, M})),
    "dashboards:write": ("Change dashboard visibility and links", frozenset({A, M})),
    "audit:read": ("See the audit log", frozenset({A})),
    "api_keys:read": ("See the partner API keys", frozenset({A})),
    "api_keys:write": ("Create and revoke partner API keys", frozenset({A})),
}


def role_has_perm(role: str, permission: str) -> bool:
    try:
        return role in PERMISSIONS[permission][1]
    except KeyError:
        raise KeyError(f"Unknown permission {permission!r}; declare it in portal.permissions") from None


def permissions_for(role: str) -> frozenset[str]:
    return frozenset(p for p, (_, roles) in PERMISSIONS.items() if role in roles)


def can_manage_role(actor_role: str, target_role: str) -> bool:
    """Whether a member with `actor_role` may grant or change `target_role`."""
    return ROLE_PRIORITY[Role(actor_role)] >= ROLE_PRIORITY[Role(target_role)]


def role_choices_with_descriptions():
    return [(role.value, role.label, ROLE_DESCRIPTIONS[role]) for role in Role]
