"""Samplers: coreset subsampling of a memory bank (greedy k-center selection on a random projection) and a
stratified pick of labelled images.

PatchCore (Roth et al. 2022, section 3.2) keeps the training patch features
that best *cover* all of them: each step adds the feature farthest from those
already chosen (greedy k-center, a 2-approximation of the minimax cover), with
distances computed on a Johnson-Lindenstrauss random projection to save time.

Plain greedy selection costs ``n_select x N x d``: for ~700k patches that is
minutes on a CPU. With ``group_sizes`` (e.g. the patches of each image) the
selection runs in two stages, a composable coreset (Indyk et al. 2014): each
group first keeps its own greedy k-center candidates (all groups in one batched
pass), then the final greedy selection runs on the union of the candidates.
Every dropped feature lies within its group's covering radius of a candidate,
so the cover is nearly as tight, at a fraction of the cost.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from .progress import ProgressCallback, report

#: rows projected per matrix product, to bound temporary memory
_CHUNK_ROWS = 65536


def random_projection(features: torch.Tensor, dim: int, seed: int = 0) -> torch.Tensor:
    """Project (N, D) features onto ``dim`` seeded Gaussian directions; unchanged (float32) when ``dim >= D`` or 0."""
    features = torch.as_tensor(features, dtype=torch.float32)
    n_features = features.shape[1]
    if dim <= 0 or dim >= n_features:
        return features
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(n_features, dim, generator=generator) / math.sqrt(dim)
    return torch.cat([features[start:start + _CHUNK_ROWS] @ matrix
                      for start in range(0, len(features), _CHUNK_ROWS)])


def greedy_k_center(points: torch.Tensor, n_select: int | Sequence[int] | torch.Tensor, first: torch.Tensor,
                    progress: ProgressCallback | None = None, stage: str = "coreset") -> list[torch.Tensor]:
    """Greedy k-center selection in each of G groups at once.

    ``points`` is (G, P, d); ``first`` (G,) the index each group starts from;
    ``n_select`` the number to choose (one for all groups, or one per group).
    Returns, per group, the chosen indices in the order chosen (each at most once).
    """
    groups, size, _ = points.shape
    wanted = torch.as_tensor(n_select, dtype=torch.long).expand(groups).clamp(max=size)
    steps = int(wanted.max()) if groups else 0
    every = max(1, steps // 100)
    rows = torch.arange(groups)
    squared_norms = (points * points).sum(-1)
    nearest = torch.full((groups, size), math.inf)
    chosen = torch.empty((groups, steps), dtype=torch.long)
    current = first.to(torch.long)
    for step in range(steps):
        chosen[:, step] = current
        centres = points[rows, current]
        if groups == 1:  # a matrix-vector product: no batched-BLAS threading overhead
            products = (points[0] @ centres[0]).unsqueeze(0)
        else:
            products = torch.bmm(points, centres.unsqueeze(-1)).squeeze(-1)
        distances = squared_norms - 2 * products
        distances += (centres * centres).sum(-1, keepdim=True)
        torch.minimum(nearest, distances, out=nearest)
        nearest[rows, current] = -math.inf  # never chosen twice, even among duplicates
        current = nearest.argmax(dim=1)
        if (step + 1) % every == 0 or step + 1 == steps:
            report(progress, stage, step + 1, steps)
    return [chosen[g, :int(wanted[g])] for g in range(groups)]


#: dimensions of the random projection a coreset is chosen in, by default (PatchCore's too)
CORESET_PROJECTION_DIM = 32
#: how many times its share of the coreset each group keeps before the final selection, by default (PatchCore's too)
CORESET_OVERSAMPLE = 3.0


def greedy_coreset(features: torch.Tensor | np.ndarray, n_select: int, *,
                   projection_dim: int = CORESET_PROJECTION_DIM, seed: int = 0,
                   group_sizes: Sequence[int] | None = None, oversample: float = CORESET_OVERSAMPLE,
                   progress: ProgressCallback | None = None, stage: str = "coreset") -> np.ndarray:
    """Sorted indices of ``n_select`` rows of (N, D) ``features`` that cover all rows (greedy k-center).

    Distances are computed on a seeded random projection to ``projection_dim``.
    ``group_sizes`` (rows per consecutive group, summing to N) enables the
    two-stage selection: each group first keeps about ``oversample`` times its
    share of ``n_select`` candidates. Progress is reported as ``stage`` (the
    selection among the candidates, or among all rows) and, before it, as
    ``"<stage> candidates"`` (the first stage: its steps each pass over every row, those of the selection
    over the candidates alone, so one estimate of the time left for both ran about 5 times long: review).
    """
    features = torch.as_tensor(features, dtype=torch.float32)
    n_rows = len(features)
    n_select = int(min(max(n_select, 0), n_rows))
    if n_select == 0:
        return np.zeros(0, np.int64)
    if n_select == n_rows:
        return np.arange(n_rows, dtype=np.int64)
    generator = torch.Generator().manual_seed(seed)
    projected = random_projection(features, projection_dim, seed)
    candidates = torch.arange(n_rows)
    if group_sizes is not None:
        sizes = torch.as_tensor(list(group_sizes), dtype=torch.long)
        if int(sizes.sum()) != n_rows or bool((sizes <= 0).any()):
            raise ValueError("group_sizes must be positive and sum to the number of features")
        ratio = oversample * n_select / n_rows
        # two stages cost ~ ratio * (largest group + n_select) passes over all rows, one stage n_select passes
        if len(sizes) > 1 and ratio * (int(sizes.max()) + n_select) < n_select:
            keep = torch.ceil(sizes.double() * ratio).long()
            starts = torch.cumsum(sizes, 0) - sizes
            # (G, P) row index of each group member; short groups repeat their first row
            offsets = torch.arange(int(sizes.max())).unsqueeze(0)
            members = starts.unsqueeze(1) + torch.where(offsets < sizes.unsqueeze(1), offsets, 0)
            first = (torch.rand(len(sizes), generator=generator) * sizes).long()
            picked_per_group = greedy_k_center(projected[members], keep, first, progress, f"{stage} candidates")
            candidates = torch.cat([members[g, p] for g, p in enumerate(picked_per_group)]).unique()
    if n_select >= len(candidates):  # the first stage kept no more than are wanted: nothing left to choose
        report(progress, stage, n_select, n_select)
        return candidates[:n_select].numpy().astype(np.int64)
    first = torch.randint(len(candidates), (1,), generator=generator)
    (picked,) = greedy_k_center(projected[candidates].unsqueeze(0), n_select, first, progress, stage)
    return np.sort(candidates[picked].numpy()).astype(np.int64)


def stratified_pick(labels: Sequence[Any] | np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``fraction`` of each class of ``labels`` (classes in sorted order, each drawn with
    ``rng``): rounded, at least one and never all of a class with two or more images, none of a class with one
    image or when ``fraction`` is 0, so that every class of two or more keeps images on both sides."""
    labels = np.asarray(labels)
    picked: list[int] = []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))  # drawn for every class: ``rng`` goes on alike
        if fraction == 0 or len(members) < 2:
            continue
        count = min(len(members) - 1, max(1, round(fraction * len(members))))
        picked.extend(members[:count].tolist())
    return np.array(sorted(picked), np.int64)
