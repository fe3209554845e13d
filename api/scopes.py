"""The partner API's scopes, named as the reference spec names them, with what each allows.
An API key grants some of them; every operation requires one (`api.auth.scope`)."""

SCOPES: dict[str, str] = {
    "operators": "Read the operator the key belongs to",
    "charge-points:read": "Read sites and charge points",
    "charge-points:write": "Create and change sites and charge points",
    "charge-points:delete": "Delete sites and charge points",
    "charge-transactions:read": "Read charges (charging sessions)",
    "wallet-transactions:read": "Read wallets and wallet transactions",
    "wallet-transaction:write": "Post operator adjustment transactions",
    "invoices:read": "Read invoices",
    "audit-log:read": "Search and read the audit log",
    "manage-webhooks:*": "Create, change and delete webhook subscriptions",
}


def described(scopes) -> list[tuple[str, str]]:
    return [(s, SCOPES[s]) for s in SCOPES if s in set(scopes)]
