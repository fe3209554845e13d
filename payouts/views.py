from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from charging.ledger import FxMissing
from charging.models import Charge
from payouts import selectors, services
from payouts.forms import DepositForm, RefundForm, WithdrawForm, new_token
from portal.errors import NotAllowed
from portal.money import format_money
from portal.tenancy import operator_view

PAGE_SIZE = 25


@operator_view(GET="payouts:read")
def payout_list(request):
    page = Paginator(selectors.payouts(operator=request.operator), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "payouts/payout_list.html", {
        "page": page, "next_payout": services.next_payout(request.operator),
    })


@operator_view(GET="payouts:read")
def payout_detail(request, payout_id):
    payout = selectors.payout(operator=request.operator, payout_id=payout_id)
    if payout is None:
        raise Http404("No such payout")
    return render(request, "payouts/payout_detail.html", {
        "payout": payout, "statement": _statement_rows(payout), "reason_texts": services.REASON_TEXTS,
    })


def _statement_rows(payout):
    from decimal import Decimal

    s = payout.statement or {}
    labels = [("opening_balance", "Opening balance"), ("income", "Charging income"), ("fees", "Platform fees"),
              ("invoice_settled", "Invoice settled"), ("deposits", "Deposits"),
              ("returned", "Payouts returned by the bank"), ("withdrawals", "Withdrawals"),
              ("other", "Adjustments and late entries"),
              ("payout_fee", "Payout fee"), ("amount", "Amount paid out"), ("closing_balance", "Closing balance")]
    optional = {"deposits", "returned", "withdrawals", "other"}  # shown when not zero
    return [{"key": k, "label": label, "amount": Decimal(s[k])} for k, label in labels
            if s.get(k) is not None and not (k in optional and Decimal(s[k]) == 0)]


# --- wallet actions: form → confirmation (balance after) → done ---------------------------------
def _wallet_url(request):
    return reverse("charging:wallet", args=[request.operator.slug])


def _two_step(request, *, form_class, template, quote, run, done_url, extra=None, form_kwargs=None):
    """GET: the form. POST: validate and show the confirmation with the balance after. POST with
    `confirm`: do it once (the form's token), then back to `done_url` with a message."""
    currency = request.operator.currency
    data = request.POST if request.method == "POST" else None
    form = form_class(data, initial={"token": new_token()}, currency=currency, **(form_kwargs or {}))
    context = {"form": form, **(extra or {})}
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirm") == "yes":
            try:
                outcome = run(form.cleaned_data)
            except NotAllowed as exc:
                form.refuse(exc)
            else:
                action = outcome.action
                text = (f"{action.get_kind_display()} of {format_money(action.amount, action.currency)} "
                        f"{'was already recorded' if outcome.repeated else 'recorded'}. ")
                if action.state == action.State.PENDING:
                    text += "It is credited to your balance once the platform confirms the money arrived."
                else:
                    text += f"Balance after: {format_money(action.balance_after, action.currency)}."
                (messages.info if outcome.repeated else messages.success)(request, text)
                return redirect(done_url)
        else:
            try:
                context["quote"] = quote(form.cleaned_data)
            except NotAllowed as exc:
                form.refuse(exc)
            else:
                context["confirming"] = True
                return render(request, template, context)
    return render(request, template, context, status=400 if form.errors else 200)


@operator_view(GET="wallet:write", POST="wallet:write")
def deposit(request):
    operator = request.operator

    def quote(data):
        balance = services.balance_at(operator)
        return {"balance": balance, "balance_after": balance + data["amount"]}

    return _two_step(request, form_class=DepositForm, template="payouts/deposit.html", quote=quote,
                     run=lambda d: services.deposit(operator=operator, actor=request.user, amount=d["amount"],
                                                    bank_reference=d["bank_reference"], note=d["note"],
                                                    token=d["token"]),
                     done_url=_wallet_url(request))


@operator_view(GET="wallet:write", POST="wallet:write")
def withdraw(request):
    operator = request.operator
    current = services.withdraw_quote(operator)

    def quote(data):
        if current["problem"]:
            raise NotAllowed(current["problem"], field="amount")
        if data["amount"] > current["available"]:
            raise NotAllowed(f"At most {format_money(current['available'], operator.currency)} can be withdrawn.",
                             field="amount")
        return {**current, "balance_after": current["balance"] - data["amount"] - current["fee"]}

    return _two_step(request, form_class=WithdrawForm, template="payouts/withdraw.html", quote=quote,
                     run=lambda d: services.withdraw(operator=operator, actor=request.user, amount=d["amount"],
                                                     token=d["token"]),
                     done_url=reverse("payouts:list", args=[operator.slug]), extra={"current": current})


@operator_view(GET="wallet:write", POST="wallet:write")
def refund(request, charge_id):
    operator = request.operator
    charge = Charge.objects.filter(operator=operator, pk=charge_id).select_related("charge_point").first()
    if charge is None:
        raise Http404("No such charge")
    left = services.refundable(charge)

    def quote(data):
        if left <= 0:
            raise NotAllowed("This charge has nothing left to refund.", field="amount")
        if data["amount"] > left:
            raise NotAllowed(f"At most {format_money(left, operator.currency)} of this charge can be refunded.",
                             field="amount")
        try:
            result = services.refund_quote(operator, charge, data["amount"])
        except FxMissing as exc:
            raise NotAllowed(str(exc), field="amount") from None
        if result["balance_after"] < 0:
            raise NotAllowed(f"The balance ({format_money(result['balance'], operator.currency)}) does not cover "
                             f"this refund: deposit money first.", field="amount")
        return result

    return _two_step(request, form_class=RefundForm, template="payouts/refund.html", quote=quote,
                     run=lambda d: services.refund(operator=operator, actor=request.user, charge_id=charge.pk,
                                                   amount=d["amount"], reason=d["reason"], token=d["token"]),
                     done_url=reverse("charging:charge_detail", args=[operator.slug, charge.pk]),
                     extra={"charge": charge, "refundable": left})

