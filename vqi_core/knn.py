"""Nearest-neighbour search over a memory bank of feature vectors, with faiss.

Kinds of index:

- ``flat``: exact search (one BLAS matrix product per block of queries);
- ``ivf``: inverted lists over k-means cells, searching the ``nprobe`` nearest
  cells only (approximate; cost ~ nprobe / nlist of exact);
- ``hnsw``: a navigable small-world graph (approximate; cost ~ log of the bank).

Distances returned are Euclidean (not squared). Approximate indexes are built
single-threaded and with a fixed seed, so the same bank always gives the same
index; they are saved in faiss's own binary format (:meth:`to_bytes`), never
pickled, while an exact index is simply rebuilt from the bank.
"""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

KNN_KINDS = ("flat", "ivf", "hnsw")
#: the faiss index class of each kind
_INDEX_CLASSES = {"flat": faiss.IndexFlatL2, "ivf": faiss.IndexIVFFlat, "hnsw": faiss.IndexHNSWFlat}
#: the largest value of a search parameter (cells, probes, graph neighbours, candidate lists)
MAX_SEARCH_PARAMETER = 65_536


class NearestNeighbors:
    """Euclidean k-nearest-neighbour search over a fixed bank (scikit-learn style ``fit`` / ``search``)."""

    def __init__(self, kind: str = "flat", *, nlist: int | None = None, nprobe: int = 8, hnsw_m: int = 32,
                 ef_construction: int = 64, ef_search: int = 48, seed: int = 0):
        if kind not in KNN_KINDS:
            raise ValueError(f"kind must be one of {KNN_KINDS}, not {kind!r}")
        for name, value, least in (("nlist", 1 if nlist is None else nlist, 1), ("nprobe", nprobe, 1),
                                   ("hnsw_m", hnsw_m, 2), ("ef_construction", ef_construction, 1),
                                   ("ef_search", ef_search, 1)):  # faiss aborts the process on some others
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() \
                    or not least <= value <= MAX_SEARCH_PARAMETER:
                raise ValueError(f"{name} must be a whole number from {least} to {MAX_SEARCH_PARAMETER:,}, not "
                                 f"{value!r}")
        self.kind = kind
        self.nlist = None if nlist is None else int(nlist)
        self.nprobe = int(nprobe)
        self.hnsw_m = int(hnsw_m)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self.seed = seed
        self.index: faiss.Index | None = None

    @property
    def size(self) -> int:
        """Number of vectors in the bank (0 before fitting)."""
        return 0 if self.index is None else int(self.index.ntotal)

    def fit(self, bank: np.ndarray) -> "NearestNeighbors":
        """Index the (M, D) ``bank``."""
        bank = _as_float32(bank)
        if bank.ndim != 2 or len(bank) == 0:
            raise ValueError("the bank must be a non-empty (M, D) array")
        dim = bank.shape[1]
        if self.kind == "flat":
            self.index = faiss.IndexFlatL2(dim)
            self.index.add(bank)
            return self
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # deterministic construction
        index: Any  # faiss.IndexIVFFlat or faiss.IndexHNSWFlat, by kind
        try:
            if self.kind == "ivf":
                nlist = int(self.nlist or max(1, min(round(4 * math.sqrt(len(bank))), len(bank) // 39)))
                if nlist > len(bank):
                    raise ValueError(f"nlist is {nlist}, but the bank holds {len(bank):,} vectors: an IVF index "
                                     f"needs at least one vector per cell")
                quantizer = faiss.IndexFlatL2(dim)
                index = faiss.IndexIVFFlat(quantizer, dim, nlist)
                index.cp.seed = self.seed
                index.train(bank)
                index.add(bank)
            else:
                index = faiss.IndexHNSWFlat(dim, self.hnsw_m)
                index.hnsw.efConstruction = self.ef_construction
                index.add(bank)
        finally:
            faiss.omp_set_num_threads(threads)
        self.index = index
        self._apply_search_params()
        return self

    def _apply_search_params(self) -> None:
        index: Any = self.index  # faiss.IndexIVFFlat or faiss.IndexHNSWFlat, by kind
        if self.kind == "ivf":
            index.nprobe = self.nprobe
        elif self.kind == "hnsw":
            index.hnsw.efSearch = self.ef_search

    def search(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Euclidean distances (Q, k) float32 and bank indices (Q, k) int64 of each query's k nearest."""
        if self.index is None:
            raise RuntimeError("call fit() before search()")
        queries = _as_float32(queries)
        k = min(k, self.size)
        if len(queries) == 0:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        squared, indices = self.index.search(queries, k)
        return np.sqrt(np.maximum(squared, 0.0)), indices

    def to_bytes(self) -> np.ndarray:
        """The index in faiss's serialisation format, as a uint8 array."""
        if self.index is None:
            raise RuntimeError("call fit() before to_bytes()")
        return faiss.serialize_index(self.index)

    def indexes(self, bank: np.ndarray) -> bool:
        """Whether the index is of this kind and holds as many vectors as ``bank`` (M, D), of its length D."""
        index: Any = self.index
        of_this_kind = isinstance(index, _INDEX_CLASSES[self.kind])
        return of_this_kind and index.ntotal == len(bank) and index.d == bank.shape[1]

    def load_bytes(self, data: np.ndarray) -> "NearestNeighbors":
        """Restore the index written by :meth:`to_bytes`."""
        self.index = faiss.deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))
        self._apply_search_params()
        return self


def _as_float32(array: Any) -> np.ndarray:
    array = array.numpy() if hasattr(array, "numpy") else array
    return np.ascontiguousarray(array, dtype=np.float32)
