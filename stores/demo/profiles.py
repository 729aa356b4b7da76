"""Who the demo stores and demo users are.

Five tea stores, peers in one category, at different stages: two mature,
two growing (one of them with a weak payment stage), one opened about four
months before the end date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stores.models import Channel, Role

DEMO_PASSWORD = "demo-pass-2025"  # noqa: S105  (published demo login, not a secret)
WINDOW_DAYS = 548  # 18 months of orders ending on the end date


@dataclass(frozen=True)
class StoreProfile:
    slug: str
    name: str
    platform: str
    stage: str  # for the login table and the docs: new, growing, mature
    orders: int  # target paid + unpaid orders at scale 1
    age_days: int | None  # days open before the end date; None: open long before the window
    growth: float  # demand at the end of the window over demand at its start
    new_conversion: float  # new buyers per visitor
    payment_rate: float  # share of new customers' order intents that end paid
    inquiry_rate: float  # share of order intents with a customer-service inquiry first
    inquiry_conversion: float  # inquiry placers / inquirers
    second_purchase: float  # chance a customer buys a second time
    repurchase: float  # chance of each further purchase
    price_level: float  # catalogue price multiplier
    channel_mix: dict[str, float] = field(default_factory=dict)
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    category: str = "tea"


def _mix(
    search: float, cps: float, community: float, ads: float, activity: float
) -> dict[str, float]:
    other = 1.0 - (search + cps + community + ads + activity)
    return {
        Channel.SEARCH: search,
        Channel.CPS: cps,
        Channel.COMMUNITY: community,
        Channel.ADS: ads,
        Channel.ACTIVITY: activity,
        Channel.OTHER: other,
    }


DEMO_STORES: tuple[StoreProfile, ...] = (
    StoreProfile(
        slug="west-lake-tea",
        name="West Lake Tea House",
        platform="tmall",
        stage="mature",
        orders=56_000,
        age_days=None,
        growth=1.08,
        new_conversion=0.018,
        payment_rate=0.90,
        inquiry_rate=0.30,
        inquiry_conversion=0.55,
        second_purchase=0.30,
        repurchase=0.62,
        price_level=0.8,
        channel_mix=_mix(0.36, 0.12, 0.07, 0.10, 0.08),
    ),
    StoreProfile(
        slug="puer-garden",
        name="Pu'er Garden",
        platform="tmall",
        stage="mature",
        orders=46_000,
        age_days=None,
        growth=0.97,
        new_conversion=0.016,
        payment_rate=0.90,
        inquiry_rate=0.26,
        inquiry_conversion=0.52,
        second_purchase=0.28,
        repurchase=0.64,
        price_level=1.0,
        channel_mix=_mix(0.40, 0.10, 0.06, 0.08, 0.07),
    ),
    StoreProfile(
        slug="wuyi-rock-tea",
        name="Wuyi Rock Tea",
        platform="taobao",
        stage="growing",
        orders=32_000,
        age_days=900,
        growth=1.9,
        new_conversion=0.021,
        payment_rate=0.89,
        inquiry_rate=0.33,
        inquiry_conversion=0.58,
        second_purchase=0.26,
        repurchase=0.58,
        price_level=0.75,
        channel_mix=_mix(0.34, 0.15, 0.12, 0.06, 0.09),
    ),
    StoreProfile(
        # The weak stage of the demo: customers place orders but a third of
        # them never pay (slow customer service, no unpaid-order reminders).
        slug="anxi-oolong",
        name="Anxi Oolong Co.",
        platform="jd",
        stage="growing",
        orders=22_000,
        age_days=760,
        growth=2.2,
        new_conversion=0.022,
        payment_rate=0.60,
        inquiry_rate=0.24,
        inquiry_conversion=0.45,
        second_purchase=0.24,
        repurchase=0.56,
        price_level=0.7,
        channel_mix=_mix(0.38, 0.14, 0.08, 0.09, 0.08),
    ),
    StoreProfile(
        slug="jasmine-lane",
        name="Jasmine Lane",
        platform="taobao",
        stage="new",
        orders=5_500,
        age_days=122,
        growth=1.0,
        new_conversion=0.02,
        payment_rate=0.89,
        inquiry_rate=0.36,
        inquiry_conversion=0.50,
        second_purchase=0.25,
        repurchase=0.55,
        price_level=0.6,
        channel_mix=_mix(0.30, 0.18, 0.14, 0.12, 0.10),
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str  # "superuser" or a Role value
    stores: tuple[str, ...]  # slugs; empty for the superuser, who sees every store


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "superuser", ()),
    DemoUser("operator", Role.OPERATOR, ("west-lake-tea", "wuyi-rock-tea", "jasmine-lane")),
    DemoUser("manager", Role.MANAGER, tuple(profile.slug for profile in DEMO_STORES)),
    DemoUser("analyst", Role.ANALYST, ("puer-garden", "anxi-oolong")),
)
