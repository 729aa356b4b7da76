"""Files larger than one chunk read as if they were one (no database needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stores.ingest.duplicates import DuplicateFinder, row_hashes
from tests.stores.ingest.helpers import FIXTURES
from tests.stores.ingest.test_formats import run


def staged(path, tmp_path, block_bytes=None):
    kwargs = {"block_bytes": block_bytes} if block_bytes else {}
    result, stager, report = run(path, tmp_path, kind="orders", **kwargs)
    return result, stager.rows.sort_values("row_no").reset_index(drop=True), report


@pytest.mark.parametrize("block_bytes", [500, 800, 1300])
def test_shopify_orders_split_across_chunks_fill_down_as_in_one(tmp_path, block_bytes):
    whole_result, whole, _ = staged(FIXTURES / "shopify_orders_export.csv", tmp_path)
    split_result, split, _ = staged(FIXTURES / "shopify_orders_export.csv", tmp_path, block_bytes)
    assert split_result.rows_staged == whole_result.rows_staged
    pd.testing.assert_frame_equal(split, whole)


def test_generic_file_of_many_chunks_stages_every_row_once(tmp_path):
    lines = ["order_id,customer_id,placed_at,status,amount,sku,quantity,unit_price"]
    for i in range(3000):
        order = f"O{i // 3}"
        head = i % 3 == 0
        lines.append(
            f"{order},{f'c{i % 70}' if head else ''},{'2025-01-01 10:00:00' if head else ''},"
            f"{'paid' if head else ''},{'30' if head else ''},S{i},1,10"
        )
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    _, whole, _ = staged(path, tmp_path)
    result, split, report = staged(path, tmp_path, block_bytes=4096)
    assert result.rows_read == result.rows_staged == 3000 and len(report) == 0
    assert split["row_no"].tolist() == list(range(2, 3002))
    assert split["status"].eq("paid").all() and split["customer_id"].notna().all()
    pd.testing.assert_frame_equal(split, whole)


def test_duplicates_are_found_across_chunks_and_name_the_first_row(tmp_path):
    header = "order_id,placed_at,status,amount"
    rows = [f"O{i},2025-01-01 10:00:00,paid,{i}" for i in range(500)]
    lines = [header, *rows, rows[3], rows[499], rows[3]]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    result, _, report = staged(path, tmp_path, block_bytes=2048)
    assert result.rows_rejected == 3 and result.rows_staged == 500
    assert report["row"].astype(int).tolist() == [502, 503, 504]
    assert report["reason"].tolist() == [
        "exact duplicate of row 5", "exact duplicate of row 501", "exact duplicate of row 5",
    ]


def test_row_hashes_tell_cells_apart_not_just_their_text():
    frame = pd.DataFrame(
        {"a": ["ab", "a", None, "x" * 40, "x" * 40, "same"], "b": ["c", "bc", "c", "y", "y", "same"]},
        dtype="str",
    )
    h = row_hashes(frame)
    assert h.dtype == np.uint64
    assert h[0] != h[1]  # ("ab", "c") is not ("a", "bc")
    assert h[2] not in (h[0], h[1])
    assert h[3] == h[4]
    assert len(set(h.tolist())) == 5


def test_duplicate_finder_remembers_earlier_chunks():
    finder = DuplicateFinder()
    first = pd.DataFrame({"a": ["1", "2", "1"]}, dtype="str")
    second = pd.DataFrame({"a": ["2", "3", "3", "1"]}, dtype="str")
    assert finder.first_rows(first, np.array([2, 3, 4])).tolist() == [0, 0, 2]
    assert finder.first_rows(second, np.array([5, 6, 7, 8])).tolist() == [3, 0, 6, 2]


def test_fast_and_slow_time_parsing_agree():
    from stores.ingest import normalise

    common = ["2025-01-05 10:00:00", "2025/01/05 10:00", "2025-01-05T10:00:01", "2025-01-05", None]
    fast, bad_fast = normalise.datetimes(pd.Series(common, dtype="str"), tz="Asia/Shanghai")
    # One cell only pandas can read sends the whole column through pandas.
    slow, bad_slow = normalise.datetimes(pd.Series([*common, "Jan 6 2025 10:00"], dtype="str"), tz="Asia/Shanghai")
    assert fast.tolist() == slow.tolist()[:-1]
    assert slow.iloc[-1] == pd.Timestamp("2025-01-06 02:00", tz="UTC")
    assert fast.iloc[0] == pd.Timestamp("2025-01-05 02:00", tz="UTC")
    assert not bad_fast.any() and not bad_slow.any()


def test_fast_and_slow_money_parsing_agree():
    from stores.ingest import normalise

    plain = pd.Series(["12.50", "-3", None, "1e2"], dtype="str")
    messy = pd.Series(["12.50", "-3", None, "1e2", "¥1,234.50"], dtype="str")
    text_a, value_a, bad_a = normalise.money(plain)
    text_b, value_b, bad_b = normalise.money(messy)
    assert value_a.tolist()[:2] == value_b.tolist()[:2] == [12.5, -3.0]
    assert value_b.iloc[-1] == 1234.5 and text_b.iloc[-1] == "1234.50"
    assert not bad_a.any() and not bad_b.any()
    counts, bad = normalise.integers(pd.Series(["6", "6.0", "6.5", None, "x"], dtype="str"))
    assert counts.tolist()[:2] == [6, 6] and bad.tolist() == [False, False, True, False, True]


def test_duplicate_finder_agrees_with_a_dict_across_many_chunks(monkeypatch):
    from stores.ingest import duplicates

    monkeypatch.setattr(duplicates, "RUN_CAP", 64)  # many full runs, as in a file of millions
    rng = np.random.default_rng(5)
    finder = DuplicateFinder()
    first_seen: dict[str, int] = {}
    row = 2
    for size in rng.integers(1, 40, size=60):
        cells = [f"v{v}" for v in rng.integers(0, 400, size=size)]
        rows = np.arange(row, row + size)
        expected = []
        for cell, r in zip(cells, rows, strict=True):
            expected.append(first_seen.get(cell, 0))
            first_seen.setdefault(cell, int(r))
        got = finder.first_rows(pd.DataFrame({"a": cells}, dtype="str"), rows)
        assert got.tolist() == expected
        row += size
    assert len(finder.runs) > 3 and all(len(h) <= 64 for h, _ in finder.runs)


def test_a_forgetting_duplicate_finder_keeps_what_it_was_not_told_to_forget():
    finder = DuplicateFinder(forgetting=True)
    chunks = [["a", "b"], ["c", "a"], ["d", "b"], ["c", "e"]]
    row = 2
    got = []
    for cells in chunks:
        rows = np.arange(row, row + len(cells))
        got.append(finder.first_rows(pd.DataFrame({"a": cells}, dtype="str"), rows).tolist())
        row += len(cells)
        finder.forget_before(row - 1)  # the chunk's last row stays open
    # "a" (row 2) is found from the next chunk; "b" (row 3) was forgotten by
    # then; "c" (row 4) too, two chunks on; each kept chunk is one run.
    assert got == [[0, 0], [0, 2], [0, 0], [0, 0]]
    assert len(finder.runs) == 1
