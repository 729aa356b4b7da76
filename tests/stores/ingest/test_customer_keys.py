"""Customers numbered by a first import: exact, whatever the hashes do."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stores.ingest import customer_keys
from stores.ingest.customer_keys import CustomerKeys


def numbered(keys: CustomerKeys, batches: list[list[str]]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for batch in batches:
        positions, new = keys.positions(pa.array(batch))
        for key, position, is_new in zip(batch, positions.tolist(), new.tolist(), strict=True):
            assert is_new == (key not in seen), key
            assert seen.setdefault(key, position) == position, key
    return seen


BATCHES = [["ana", "bo", "cy"], ["bo", "dee", "ana", "eve"], ["eve", "fay"], ["cy", "gus", "fay", "hal"]]


def test_each_customer_keeps_the_number_it_first_got():
    keys = CustomerKeys()
    seen = numbered(keys, BATCHES)
    assert sorted(seen.values()) == list(range(8)) == sorted(range(keys.count))
    assert seen["ana"] == 0 and seen["hal"] == 7  # in the order they first appear
    assert keys.keys().to_pylist() == ["ana", "bo", "cy", "dee", "eve", "fay", "gus", "hal"]


def test_keys_whose_hashes_collide_are_still_told_apart(monkeypatch):
    # Every key hashes alike: only the comparison of the keys themselves can tell them apart.
    monkeypatch.setattr(customer_keys, "cell_hashes", lambda keys: np.zeros(len(keys), dtype=np.uint64))
    keys = CustomerKeys()
    seen = numbered(keys, BATCHES)
    assert sorted(seen.values()) == list(range(8))
    assert keys.keys().to_pylist() == ["ana", "bo", "cy", "dee", "eve", "fay", "gus", "hal"]
