"""The formats we recognise. A new platform is one new module listed here."""

from __future__ import annotations

from stores.ingest.formats import generic, shopify, sycm, taobao, tmall_lines
from stores.ingest.formats.base import Format, mapped_format

FORMATS: tuple[Format, ...] = (
    shopify.FORMAT,
    taobao.FORMAT,
    tmall_lines.FORMAT,
    generic.ORDERS,
    sycm.DAILY_FORM,
    sycm.SOURCE_FORM,
    generic.TRAFFIC,
)
BY_KEY = {f.key: f for f in FORMATS}
# What ``--format`` and the upload form accept; "sycm" means either Sycm form.
FORMAT_CHOICES = ("auto", "shopify", "taobao", "tmall_lines", "generic", "sycm")


def best_score(header: list[str]) -> float:
    return max(f.score(header) for f in FORMATS)


def detect(header: list[str], *, kind: str | None = None, key: str = "auto") -> Format | None:
    """The format whose signature the header carries (the most specific one)."""
    candidates = [f for f in FORMATS if kind is None or f.kind == kind]
    if key != "auto":
        wanted = {"sycm": ("sycm", "sycm_daily"), "generic": ("generic", "generic_traffic")}.get(key, (key,))
        candidates = [f for f in candidates if f.key in wanted]
    scored = sorted(((f.score(header), f) for f in candidates), key=lambda p: -p[0])
    if scored and scored[0][0] > 0:
        return scored[0][1]
    return None


__all__ = ["FORMATS", "FORMAT_CHOICES", "Format", "best_score", "detect", "mapped_format"]
