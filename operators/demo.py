from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from operators.models import BankAccount, Fee, Operator, WalletTransaction

OPERATORS = {
    "demo": dict(
        name="Demo Charging ApS", country="DK", currency="DKK", vat_number="DK13585628",
        contact_email="hello@demo.example", finance_email="finance@demo.example",
        street="Vesterbrogade 10", postcode="1620", city="København V", ean="5790000000005", po_number="PO-2026-0142",
        einvoice_by_email=True,
    ),
    "nordlys": dict(
        name="Nordlys Energi AS", country="NO", currency="NOK", vat_number="NO995525828MVA",
        contact_email="post@nordlys.example", finance_email="faktura@nordlys.example",
        street="Karl Johans gate 1", postcode="0154", city="Oslo",
    ),
}

PLATFORM_FEES = [
    # kind, percentage, amount, currency, valid_from, note
    (Fee.Kind.REVENUE_PERCENTAGE, Decimal("3.50"), None, "", date(2024, 1, 1), "Card and app payments"),
    (Fee.Kind.TRANSACTION_FIXED, None, Decimal("0.25"), "EUR", date(2024, 1, 1), ""),
    (Fee.Kind.PAYOUT_FIXED, None, Decimal("1.00"), "EUR", date(2024, 1, 1), "Per monthly payout"),
]

LEDGER = {
    # reference, days ago, kind, group, amount, note
    "demo": [
        ("demo:adjustment:opening", 60, "adjustment", "other", Decimal("1250.00"), "Opening balance"),
        ("demo:income:2026-10", 21, "charge_income", "charge", Decimal("18432.50"), "Charging income, October"),
        ("demo:fee:2026-10", 21, "platform_fee", "charge", Decimal("-645.14"), "Platform fee 3.5 %, October"),
    ],
    "nordlys": [
        ("nordlys:income:2026-10", 20, "charge_income", "charge", Decimal("9120.00"), "Charging income, October"),
        ("nordlys:fee:2026-10", 20, "platform_fee", "charge", Decimal("-319.20"), "Platform fee 3.5 %, October"),
    ],
}

BANK_ACCOUNTS = {
    "demo": [("Demo Charging ApS", "DK5000400440116243", "NDEADKKK")],
    "nordlys": [("Nordlys Energi AS", "NO9386011117947", "DABANO22")],
}


def seed(ctx):
    operators = {}
    for slug, fields in OPERATORS.items():
        operator, _ = Operator.objects.get_or_create(slug=slug, defaults=fields)
        operators[slug] = operator
    ctx["operators"] = operators

    for kind, pct, amount, currency, valid_from, note in PLATFORM_FEES:
        Fee.objects.get_or_create(operator=None, kind=kind, valid_from=valid_from,
                                  defaults=dict(percentage=pct, amount=amount, currency=currency, note=note))
    Fee.objects.get_or_create(operator=operators["nordlys"], kind=Fee.Kind.REVENUE_PERCENTAGE,
                              valid_from=date(2025, 1, 1),
                              defaults=dict(percentage=Decimal("3.00"), note="Volume agreement"))

    now = timezone.now()
    for slug, entries in LEDGER.items():
        operator = operators[slug]
        for reference, days_ago, kind, group, amount, note in entries:
            if WalletTransaction.objects.filter(operator=operator, reference=reference).exists():
                continue
            at = now - timedelta(days=days_ago)
            WalletTransaction.objects.create(
                operator=operator, reference=reference, created_at=at, completed_at=at, kind=kind,
                group=group, amount=amount, currency=operator.currency, note=note,
            )

    for slug, accounts in BANK_ACCOUNTS.items():
        for i, (holder, iban, bic) in enumerate(accounts):
            BankAccount.objects.get_or_create(operator=operators[slug], iban=iban,
                                              defaults=dict(holder_name=holder, bic=bic, is_default=i == 0))
