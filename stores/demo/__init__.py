"""Demo data: five tea stores with 18 months of orders and traffic, and demo logins.

``profiles`` says who the stores and users are, ``generate`` makes the
data in memory with numpy, ``seed`` writes it through the ORM.
"""

from __future__ import annotations

from stores.demo.generate import StoreData, store_generate
from stores.demo.profiles import DEMO_PASSWORD, DEMO_STORES, DEMO_USERS, StoreProfile
from stores.demo.seed import (
    DemoLogin,
    SeededStore,
    demo_generate,
    demo_seed,
    demo_stores_exist,
    demo_users_ensure,
)

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_STORES",
    "DEMO_USERS",
    "DemoLogin",
    "SeededStore",
    "StoreData",
    "StoreProfile",
    "demo_generate",
    "demo_seed",
    "demo_stores_exist",
    "demo_users_ensure",
    "store_generate",
]
