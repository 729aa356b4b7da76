"""Platform channel names onto our channels (DOMAIN.md section 2).

A store's own ChannelMapping rows win; then our own channel names as a
generic CSV writes them (``ads``, ``community``...); then these defaults,
matched as substrings of the platform's name, first match wins. A name
nothing knows is none of ours: the loaders count it as ``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from stores.ingest.normalise import map_text

# Our channels' keys, and the names a generic export may give them.
OWN_NAMES: dict[str, str] = {
    "search": "search", "cps": "cps", "community": "community", "ads": "ads", "activity": "activity",
    "other": "other", "organic": "other", "direct": "other", "affiliate / cps": "cps",
    "search promotion": "search", "community and social": "community", "display ads": "ads",
    "activities and group buying": "activity", "organic and other": "other", "activities": "activity",
}

DEFAULT_RULES: tuple[tuple[str, str], ...] = (
    # affiliate first: 淘宝客 must not fall into "search" or "other"
    ("淘宝客", "cps"), ("淘客", "cps"), ("京挑客", "cps"), ("cps", "cps"), ("affiliate", "cps"),
    ("聚划算", "activity"), ("淘抢购", "activity"), ("天天特价", "activity"), ("百亿补贴", "activity"),
    ("秒杀", "activity"), ("团购", "activity"), ("活动", "activity"), ("flash", "activity"),
    # paid search before "ads": Google Ads is search promotion
    ("google ads", "search"), ("bing ads", "search"), ("microsoft ads", "search"),
    ("钻展", "ads"), ("钻石展位", "ads"), ("硬广", "ads"), (" ads", "ads"), ("超级推荐", "ads"), ("引力魔方", "ads"), ("品销宝", "ads"),
    ("万相台", "ads"), ("展位", "ads"), ("广告", "ads"), ("display", "ads"), ("banner", "ads"),
    ("直通车", "search"), ("搜索", "search"), ("快车", "search"), ("search", "search"),
    ("google", "search"), ("bing", "search"), ("baidu", "search"), ("百度", "search"),
    ("微淘", "community"), ("逛逛", "community"), ("社区", "community"), ("内容", "community"),
    ("直播", "community"), ("微博", "community"), ("小红书", "community"), ("抖音", "community"),
    ("community", "community"), ("social", "community"), ("facebook", "community"), ("instagram", "community"),
    ("tiktok", "community"), ("pinterest", "community"),
)


def resolver(store_table: Mapping[str, str]) -> Callable[[str], str | None]:
    exact = {k.strip().lower(): v for k, v in store_table.items()}

    def resolve(name: str) -> str | None:
        key = name.strip().lower()
        if key in exact:
            return exact[key]
        if key in OWN_NAMES:
            return OWN_NAMES[key]
        for word, channel in DEFAULT_RULES:
            if word in key:
                return channel
        return None

    return resolve


def map_series(raw: pd.Series, resolve: Callable[[str], str | None]) -> pd.Series:
    """Our channel for each cell, or NA when no rule knows the name."""
    return map_text(raw, resolve)
