from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import User

from stores.models import Customer, Membership, Order, OrderStatus, Role, Store, TrafficDaily

PASSWORD = "correct-horse-battery"  # noqa: S105


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"store-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    platform = "tmall"
    currency = "CNY"
    timezone = "Asia/Shanghai"
    category = "tea"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    role = Role.OPERATOR


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    external_id = factory.Sequence(lambda n: f"cust-{n}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    external_id = factory.Sequence(lambda n: f"order-{n}")
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    placed_at = factory.LazyFunction(lambda: datetime(2025, 3, 1, 10, 0, tzinfo=UTC))
    paid_at = factory.LazyAttribute(lambda o: o.placed_at if o.status == OrderStatus.PAID else None)
    status = OrderStatus.PAID
    amount = Decimal("100.00")
    items = 1
    channel = "search"


class TrafficDailyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrafficDaily

    store = factory.SubFactory(StoreFactory)
    channel = "search"
    visitors = 1000
    page_views = 3000
