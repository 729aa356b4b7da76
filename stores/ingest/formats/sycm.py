"""Sycm (生意参谋) traffic-source exports: the source form and the daily form."""

from __future__ import annotations

import pandas as pd

from stores.ingest.formats.base import Format

TOTAL_WORDS = {"汇总", "合计", "总计", "-"}


def _drop_subtotals(out: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """A source listed both as a total row and with detail rows would count twice:
    keep the details where a source has them."""
    detail = out["source_detail"]
    if detail.isna().all():
        return out
    is_total = detail.isna() | detail.isin(TOTAL_WORDS)
    keys = out["date"].fillna("") + "\x1f" + out["source"].fillna("")
    has_details = keys.isin(keys[~is_total])
    return out[~(is_total & has_details)]


SOURCE_FORM = Format(
    key="sycm",
    kind="traffic",
    label="Sycm traffic sources",
    signature=("流量来源", "访客数"),
    columns={
        "date": ("日期", "统计日期"),
        "source": ("流量来源",),
        "source_detail": ("来源明细",),
        "visitors": ("访客数",),
        "page_views": ("浏览量",),
        "inquirers": ("咨询人数", "询单人数"),
        "inquiry_placers": ("询单下单人数", "询单下单买家数"),
    },
    transform=_drop_subtotals,
)

DAILY_FORM = Format(
    key="sycm_daily",
    kind="traffic",
    label="Sycm traffic sources by day",
    signature=("日期", "一级来源", "访客数"),
    columns={
        "date": ("日期",),
        "source": ("一级来源",),
        "source_detail": ("二级来源",),
        "visitors": ("访客数",),
        "page_views": ("浏览量",),
        "inquirers": ("咨询人数", "询单人数"),
        "inquiry_placers": ("询单下单人数", "询单下单买家数"),
    },
    transform=_drop_subtotals,
)
