from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from stores.ingest.formats import FORMAT_CHOICES
from stores.models import Channel, Store, UploadKind

FORMAT_LABELS = {
    "auto": _("Recognise automatically"),
    "shopify": _("Shopify orders export"),
    "taobao": _("Taobao/Tmall order report"),
    "tmall_lines": _("Tmall sub-order export"),
    "generic": _("Generic CSV (our columns)"),
    "sycm": _("Sycm traffic sources"),
}

# Our columns an analyst can map a file's columns onto, per kind of file.
MAPPABLE: dict[str, tuple[tuple[str, Any, bool], ...]] = {
    UploadKind.ORDERS: (
        ("order_id", _("Order number"), True),
        ("placed_at", _("Order time"), True),
        ("customer_id", _("Customer"), False),
        ("paid_at", _("Payment time"), False),
        ("status", _("Status"), False),
        ("amount", _("Order amount"), False),
        ("refunded_amount", _("Refunded amount"), False),
        ("items", _("Items in the order"), False),
        ("channel", _("Channel"), False),
        ("sku", _("SKU"), False),
        ("title", _("Product title"), False),
        ("quantity", _("Quantity"), False),
        ("unit_price", _("Unit price"), False),
        ("inquired", _("Inquired"), False),
        # Checked against the store's, not loaded.
        ("currency", _("Currency"), False),
    ),
    UploadKind.TRAFFIC: (
        ("date", _("Date"), True),
        ("source", _("Channel / source"), True),
        ("visitors", _("Visitors"), True),
        ("page_views", _("Page views"), False),
        ("inquirers", _("Inquirers"), False),
        ("inquiry_placers", _("Inquirers who ordered"), False),
    ),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Export file"))
    kind = forms.ChoiceField(label=_("What it holds"), choices=UploadKind.choices, initial=UploadKind.ORDERS)
    format = forms.ChoiceField(
        label=_("Format"), choices=[(k, FORMAT_LABELS[k]) for k in FORMAT_CHOICES], initial="auto"
    )
    traffic_date = forms.DateField(
        label=_("Date (traffic exports without a date column)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ColumnMappingForm(forms.Form):
    """One select per our column, offering the file's columns."""

    def __init__(self, *args: Any, kind: str, columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(c, c) for c in columns]
        for name, label, required in MAPPABLE[kind]:
            self.fields[name] = forms.ChoiceField(label=label, choices=choices, required=required)

    def mapping(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v}


class ChannelRowForm(forms.Form):
    """One platform name and the channel the store gives it ("" : the rules decide)."""

    name = forms.CharField(label=_("Platform's name"), max_length=200, required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False,
        choices=[("", _("By the built-in rules (else organic and other)")), *Channel.choices],
    )


ChannelRowFormSet = forms.formset_factory(ChannelRowForm, extra=0)


class StoreSettingsForm(forms.ModelForm):
    """What decides how a store's files are read and its customers counted."""

    class Meta:
        model = Store
        fields = ["timezone", "date_order", "nurture_window_days", "churn_window_days"]
        help_texts = {
            "timezone": _("The store's days run in this zone (an IANA name such as Asia/Shanghai)."),
            "nurture_window_days": _("A new customer is being nurtured for this many days after a first purchase."),
            "churn_window_days": _("A customer with no purchase for longer than this has lapsed."),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        nurture, churn = cleaned.get("nurture_window_days"), cleaned.get("churn_window_days")
        if nurture and churn and nurture > churn:
            self.add_error("nurture_window_days", _("The nurture window cannot be longer than the churn window."))
        return cleaned
