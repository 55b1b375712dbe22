"""Nearest-neighbour search over a memory bank of feature vectors, with faiss.

Kinds of index:

- ``flat``: exact search (one BLAS matrix product per block of queries);
- ``ivf``: inverted lists over k-means cells, searching the ``nprobe`` nearest
  cells only (approximate; cost ~ nprobe / nlist of exact);
- ``hnsw``: a navigable small-world graph (approximate; cost ~ log of the bank).

Distances returned are Euclidean (not squared). Approximate indexes are built
single-threaded and with a fixed seed, so the same bank always gives the same
index. Saved (:meth:`NearestNeighbors.to_arrays`), never pickled: an exact index
is simply rebuilt from the bank; an IVF index from its cells' centroids and each
bank vector's cell, exactly as it was (the same lists in the same order), and
checked first, so that a saved file never makes faiss allocate what it claims;
an HNSW graph in faiss's own binary format (as was an IVF index before), which
faiss reads allocating what it claims: an imported run holding one is refused
(:mod:`vqi_core.archive`).
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Mapping

import faiss
import numpy as np
from faiss.contrib.inspect_tools import get_invlist
from faiss.contrib.ivf_tools import add_preassigned

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
        faiss.omp_set_num_threads(1)  # deterministic construction; OpenMP keeps the count per thread: another
        # thread's searches (the dashboard's while it trains) keep theirs (measured with faiss 1.15's OpenMP)
        index: Any  # faiss.IndexIVFFlat or faiss.IndexHNSWFlat, by kind
        try:
            if self.kind == "ivf":
                nlist = int(self.nlist or max(1, min(round(4 * math.sqrt(len(bank))), len(bank) // 39)))
                if nlist > len(bank):
                    raise ValueError(f"nlist is {nlist}, but the bank holds {len(bank):,} vectors: an IVF index "
                                     f"needs at least one vector per cell")
                quantizer = faiss.IndexFlatL2(dim)
                index = faiss.IndexIVFFlat(quantizer, dim, nlist)
                index.cp.seed = self.seed % 2 ** 31  # faiss keeps a signed 32-bit seed; seeds below are as given
                # a small bank (few training images) has fewer than faiss's 39 vectors per cell: its clustering is
                # as good (one cell holds them all), but faiss printed "WARNING clustering 29 points to 1
                # centroids" into the progress bar (review); this setting only silences that warning
                index.cp.min_points_per_centroid = 1
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
        """Euclidean distances (Q, k) float32 and bank indices (Q, k) int64 of each query's k nearest (k at least 1,
        at most the bank's size); ``ValueError`` for queries that are not (Q, D) with the bank's D."""
        if self.index is None:
            raise RuntimeError("call fit() before search()")
        queries = _checked_queries(queries, int(self.index.d), k)
        k = min(k, self.size)
        if len(queries) == 0:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        squared, indices = self.index.search(queries, k)
        return np.sqrt(np.maximum(squared, 0.0)), indices

    def to_arrays(self) -> dict[str, np.ndarray]:
        """What restores this index over the same bank with :meth:`load_arrays`: nothing for an exact index,
        ``ivf_centroids`` (nlist, D) and ``ivf_lists`` (M,) (each bank vector's cell) for IVF, ``knn_index`` (faiss's
        serialisation, uint8) for HNSW."""
        index: Any = self.index
        if index is None:
            raise RuntimeError("call fit() before to_arrays()")
        if self.kind == "flat":
            return {}
        if self.kind == "ivf":
            lists = np.full(index.ntotal, -1, np.int64)
            for cell in range(index.nlist):
                ids, _ = get_invlist(index.invlists, cell)
                lists[ids] = cell
            return {"ivf_centroids": index.quantizer.reconstruct_n(0, index.nlist), "ivf_lists": lists}
        return {"knn_index": faiss.serialize_index(index)}

    def indexes(self, bank: np.ndarray) -> bool:
        """Whether the index is of this kind and holds as many vectors as ``bank`` (M, D), of its length D."""
        index: Any = self.index
        of_this_kind = isinstance(index, _INDEX_CLASSES[self.kind])
        return of_this_kind and index.ntotal == len(bank) and index.d == bank.shape[1]

    def load_arrays(self, bank: np.ndarray, arrays: Mapping[str, np.ndarray]) -> "NearestNeighbors":
        """Restore the index over the (M, D) ``bank`` from what :meth:`to_arrays` wrote; ``KeyError`` naming a
        missing array, ``ValueError`` saying what does not fit the bank (faiss's ``RuntimeError`` for an HNSW
        graph it cannot read)."""
        bank = _as_float32(bank)
        if self.kind == "flat":
            return self.fit(bank)
        if self.kind == "ivf" and ("ivf_centroids" in arrays or "knn_index" not in arrays):
            self.index = _ivf_index(bank, arrays["ivf_centroids"], arrays["ivf_lists"])
        else:  # HNSW, or an IVF index saved before it was saved as arrays (a file this machine wrote)
            self.index = faiss.deserialize_index(np.ascontiguousarray(arrays["knn_index"], dtype=np.uint8))
        if not self.indexes(bank):
            raise ValueError(f"its nearest-neighbour index is not a {self.kind} index of the bank")
        self._apply_search_params()
        return self


#: the search parameters a model may set (PatchCore's ``knn_params``): the constructor's, but the seed
KNN_PARAMETERS = tuple(name for name, parameter in inspect.signature(NearestNeighbors).parameters.items()
                       if parameter.kind == parameter.KEYWORD_ONLY and name != "seed")


def exact_search(queries: np.ndarray, bank: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances (Q, k) and bank indices (Q, k) of each query's ``k`` nearest bank vectors by brute force
    (at most the bank's size; every one found, which an approximate index does not promise); ``ValueError`` as
    :meth:`NearestNeighbors.search`."""
    bank = _as_float32(bank)
    queries = _checked_queries(queries, bank.shape[1], k)
    k = min(k, len(bank))
    squared, indices = faiss.knn(queries, bank, k)
    return np.sqrt(np.maximum(squared, 0.0)), indices


def _ivf_index(bank: np.ndarray, centroids: np.ndarray, lists: np.ndarray) -> Any:
    """The IVF index over ``bank`` whose cells have ``centroids`` and hold the bank vectors that ``lists`` gives
    them, in bank order, as when it was built; ``ValueError`` for arrays that do not fit the bank."""
    length, dim = bank.shape
    if (centroids.ndim != 2 or not 1 <= len(centroids) <= length or centroids.shape[1] != dim
            or centroids.dtype.kind != "f" or not np.isfinite(centroids).all()):
        raise ValueError(f"its IVF centroids ({centroids.dtype} of shape {centroids.shape}) are not 1 to {length:,} "
                         f"finite vectors of length {dim}")
    if lists.shape != (length,) or lists.dtype.kind not in "iu" or not (
            (lists >= 0) & (lists < len(centroids))).all():
        raise ValueError(f"its IVF cells ({lists.dtype} of shape {lists.shape}) are not one cell from 0 to "
                         f"{len(centroids) - 1} per bank vector")
    quantizer = faiss.IndexFlatL2(dim)
    quantizer.add(_as_float32(centroids))
    index = faiss.IndexIVFFlat(quantizer, dim, len(centroids))
    index.is_trained = True
    add_preassigned(index, bank, np.ascontiguousarray(lists, dtype=np.int64))
    return index


def _checked_queries(queries: Any, dim: int, k: int) -> np.ndarray:
    """``queries`` as contiguous float32 (Q, ``dim``); ``ValueError`` for another shape or a ``k`` below 1 (faiss
    failed an assertion without a message: engine review)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k, the number of neighbours, must be a whole number of at least 1, not {k!r}")
    queries = _as_float32(queries)
    if queries.ndim != 2 or queries.shape[1] != dim:
        raise ValueError(f"queries must be a (Q, {dim}) array of the bank's vector length, not of shape "
                         f"{queries.shape}")
    return queries


def _as_float32(array: Any) -> np.ndarray:
    array = array.numpy() if hasattr(array, "numpy") else array
    return np.ascontiguousarray(array, dtype=np.float32)
