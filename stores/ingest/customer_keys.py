"""The customers a load meets, numbered in the order they first appear.

A file names its buyers by the platform's id (a member name, an email); a
first import into a store meets every one of them, a million at the largest,
and must give each the same number wherever it appears again. A dict of
Python strings would take 150-200 MB for a million; here each key costs its
own bytes plus 12 (a 64-bit hash and its position, in ``SortedRuns``), and
the keys themselves stay in arrow arrays; once every key is in (``seal``),
only the keys are kept.

Exact, not probabilistic: a key whose hash matches is compared with the key
stored at that position, and the rare key whose hash another key already
has is kept in a small dict of its own.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stores.ingest.duplicates import SortedRuns, cell_hashes


class CustomerKeys:
    def __init__(self) -> None:
        self.count = 0
        self._runs = SortedRuns()
        self._keys: list[pa.Array] = []  # the keys, in position order
        self._collided: dict[str, int] = {}  # keys whose hash an earlier key has

    def keys(self) -> pa.ChunkedArray:
        """Every key, in position order."""
        return pa.chunked_array(self._keys, type=pa.string())

    def positions(self, keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(each key's position, which keys are new) for distinct, non-null
        ``keys``; new keys take the next positions, in the order given."""
        keys = keys.cast(pa.string())
        n = len(keys)
        hashes = cell_hashes(keys)
        found = self._runs.find(hashes)
        hit = np.flatnonzero(found >= 0)
        # Another key with the same hash: looked up (or added) apart.
        clash = np.zeros(n, dtype=bool)
        if len(hit):
            stored = self.keys().take(pa.array(found[hit]))
            same = pc.equal(stored, keys.take(pa.array(hit))).to_numpy(zero_copy_only=False)
            clash[hit[~same]] = True
            found[hit[~same]] = -1
        if self._collided:
            for i in np.flatnonzero(found < 0).tolist():
                position = self._collided.get(keys[i].as_py())
                if position is not None:
                    found[i] = position
        new = found < 0
        fresh = np.flatnonzero(new)
        if len(fresh):
            found[fresh] = np.arange(self.count, self.count + len(fresh))
            self.count += len(fresh)
            self._keys.append(keys.take(pa.array(fresh)))
            # Two new keys sharing a hash: the first goes to the runs.
            order = np.argsort(hashes[fresh], kind="stable")
            sorted_hashes = hashes[fresh][order]
            repeat = np.zeros(len(fresh), dtype=bool)
            repeat[order[1:]] = sorted_hashes[1:] == sorted_hashes[:-1]
            apart = clash[fresh] | repeat
            if apart.any():
                for i in fresh[apart].tolist():
                    self._collided[keys[i].as_py()] = int(found[i])
            self._runs.add(hashes[fresh][~apart], found[fresh][~apart].astype(np.int32))
        return found, new

    def seal(self) -> None:
        """No more lookups: only the keys are kept (``keys``)."""
        self._runs = SortedRuns()
        self._collided = {}
