"""Forms of the targets pages: parse and validate input, nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kpitree.engine import CUSTOMER_TREE, FUNNEL_TREE
from kpitree.formatting import localized_name
from kpitree.targets.allocation import RULES

RULE_LABELS = {
    "equal": _("Equal growth per factor"),
    "volatility": _("In proportion to each factor's recent volatility"),
    "headroom": _("In proportion to each factor's headroom to peer stores"),
}


def metric_choices() -> list[tuple[str, str]]:
    out = []
    for tree in (FUNNEL_TREE, CUSTOMER_TREE):
        for key, node in tree.nodes.items():
            out.append((f"{tree.key}:{key}", f"{localized_name(tree)} · {localized_name(node)}"))
    return out


class PeriodForm(forms.Form):
    period_start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data


class TargetForm(PeriodForm):
    metric = forms.ChoiceField(label=_("Metric"), choices=metric_choices)
    value = forms.DecimalField(label=_("Target"), min_value=0, max_digits=24, decimal_places=8)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    @property
    def tree_and_metric(self) -> tuple[str, str]:
        tree, _sep, metric = self.cleaned_data["metric"].partition(":")
        return tree, metric


class AllocateForm(PeriodForm):
    sales_target = forms.FloatField(label=_("Sales target"), min_value=0.01)
    rule = forms.ChoiceField(label=_("Spread the growth"),
                             choices=[(r, RULE_LABELS[r]) for r in RULES], initial="equal")
