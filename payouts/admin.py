"""Staff side of payouts: export pending payouts to pain.001, download a batch's file, mark
payouts paid or failed, and upload the bank's status report (pain.002 / camt.054). Payouts are
decided by the close and never edited here; every step is a service call, audited on the
operator's log."""
from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from payouts import bank_reports, export, services
from payouts.models import Payout, PayoutBatch, WalletAction
from portal.admin import ReadOnlyAdmin, ask
from portal.errors import DomainError


class MarkFailedForm(forms.Form):
    reason_code = forms.CharField(max_length=4, help_text="ISO 20022 reason code, e.g. AC04 (closed account).")
    reason_text = forms.CharField(max_length=200, required=False)


class BankReportForm(forms.Form):
    file = forms.FileField(label="Bank status report", help_text="pain.002 or camt.054 XML, as the bank sends it.")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("reference", "operator", "kind", "period", "amount", "fee", "currency", "state", "skip_reason",
                    "batch", "reason_code")
    list_filter = ("state", "kind", "currency")
    search_fields = ("operator__name", "operator__slug")
    actions = ["export_selected", "mark_paid", "mark_failed"]
    exclude = ("statement",)
    readonly_fields = ("statement_lines",)

    def has_change_permission(self, request, obj=None):  # view only; actions need this for the list
        return False

    def has_manage_permission(self, request):
        return request.user.is_active and request.user.is_staff and request.user.has_perm("payouts.change_payout")

    @admin.display(description="statement")
    def statement_lines(self, obj):
        return ", ".join(f"{k}: {v}" for k, v in (obj.statement or {}).items())

    def get_urls(self):
        return [path("bank-report/", self.admin_site.admin_view(self.bank_report_view), name="payouts_bank_report"),
                *super().get_urls()]

    @admin.action(description="Export selected pending payouts (pain.001)", permissions=["manage"])
    def export_selected(self, request, queryset):
        problems = []
        batches = export.export_all(actor=request.user, payout_ids=list(queryset.values_list("pk", flat=True)),
                                    problems=problems)
        for batch in batches:
            self.message_user(request, f"{batch.msg_id}: {batch.count} payouts, {batch.total} {batch.currency}.",
                              messages.SUCCESS)
        for problem in problems:
            self.message_user(request, problem, messages.WARNING)
        if not batches and not problems:
            self.message_user(request, "None of the selected payouts is pending.", messages.WARNING)
        return None

    @admin.action(description="Mark selected as paid", permissions=["manage"])
    def mark_paid(self, request, queryset):
        for payout in queryset:
            try:
                changed = services.mark_paid(payout=payout, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{payout}: {'paid' if changed else 'already paid'}.", messages.SUCCESS)

    @admin.action(description="Mark selected as failed (money back to the wallet)", permissions=["manage"])
    def mark_failed(self, request, queryset):
        form = MarkFailedForm(request.POST if "reason_code" in request.POST else None)
        if not form.is_valid():
            return ask(self, request, queryset, form, title="Mark payouts failed", action="mark_failed",
                       submit="Mark failed", intro="Each selected payout fails with the bank's reason; its amount "
                       "and fee go back to the operator's wallet as one ledger entry, and the next monthly close "
                       "pays it out again.")
        for payout in queryset:
            try:
                changed = services.mark_failed(payout=payout, code=form.cleaned_data["reason_code"],
                                               text=form.cleaned_data["reason_text"], actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{payout}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{payout}: {'returned to the wallet' if changed else 'already failed'}.",
                                  messages.SUCCESS)
        return None

    def bank_report_view(self, request):
        if not self.has_manage_permission(request):
            raise Http404
        form = BankReportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > bank_reports.MAX_BYTES:
                form.add_error("file", "The file is larger than 20 MB; a bank status report is much smaller.")
            else:
                try:
                    result = bank_reports.apply(upload.read(), actor=request.user)
                except DomainError as exc:
                    form.add_error("file", exc.message)
                else:
                    self.message_user(request, result.summary(), messages.SUCCESS)
                    return redirect(reverse("admin:payouts_payout_changelist"))
        return TemplateResponse(request, "admin/payouts/bank_report.html", {
            **self.admin_site.each_context(request), "title": "Upload bank status report", "form": form,
            "opts": self.model._meta,
        }, status=400 if form.errors else 200)


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ("msg_id", "currency", "scheme", "count", "total", "created_at", "created_by", "download")
    exclude = ("xml",)

    def get_urls(self):
        return [path("<int:batch_id>/download/", self.admin_site.admin_view(self.download_view),
                     name="payouts_payoutbatch_download"), *super().get_urls()]

    @admin.display(description="file")
    def download(self, obj):
        from django.utils.html import format_html

        return format_html('<a href="{}">{}</a>', reverse("admin:payouts_payoutbatch_download", args=[obj.pk]),
                           obj.filename)

    def download_view(self, request, batch_id):
        if not self.has_view_permission(request):
            raise Http404
        batch = PayoutBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            raise Http404
        response = HttpResponse(bytes(batch.xml), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
        return response


class RejectDepositForm(forms.Form):
    note = forms.CharField(max_length=200, label="Why (the operator sees it)")


@admin.register(WalletAction)
class WalletActionAdmin(ReadOnlyAdmin):
    """Operators' deposits are credited only when staff confirm the money is on the platform's
    account (compare the bank reference and amount with the bank statement)."""

    list_display = ("created_at", "operator", "kind", "state", "amount", "currency", "actor", "bank_reference",
                    "balance_after")
    list_filter = ("kind", "state")
    actions = ["confirm_deposits", "reject_deposits"]

    def has_change_permission(self, request, obj=None):  # view only; actions need this for the list
        return False

    def has_manage_permission(self, request):
        return request.user.is_active and request.user.is_staff and request.user.has_perm(
            "payouts.change_walletaction")

    @admin.action(description="Confirm selected deposits (money received: credit the wallet)",
                  permissions=["manage"])
    def confirm_deposits(self, request, queryset):
        for action in queryset.filter(kind=WalletAction.Kind.DEPOSIT):
            changed = services.confirm_deposit(action=action, actor=request.user)
            self.message_user(request, f"{action.operator}: {action} {'credited' if changed else 'already decided'}.",
                              messages.SUCCESS if changed else messages.WARNING)

    @admin.action(description="Reject selected deposits (money not received)", permissions=["manage"])
    def reject_deposits(self, request, queryset):
        form = RejectDepositForm(request.POST if "note" in request.POST else None)
        if not form.is_valid():
            return ask(self, request, queryset, form, title="Reject deposits", action="reject_deposits",
                       submit="Reject deposits", intro="Each selected deposit is marked as not received: nothing is "
                       "credited, and the operator sees the reason on Wallet transactions.")
        for action in queryset.filter(kind=WalletAction.Kind.DEPOSIT):
            try:
                changed = services.reject_deposit(action=action, actor=request.user, note=form.cleaned_data["note"])
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            self.message_user(request, f"{action.operator}: {action} {'rejected' if changed else 'already decided'}.",
                              messages.SUCCESS if changed else messages.WARNING)
        return None
