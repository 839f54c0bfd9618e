"""Confidence intervals: Wilson score intervals for rates, bootstrap percentiles for means."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

# Resamples drawn at once per group, bounded so a group with many distinct values keeps
# memory flat (chunk x distinct values counts).
_CHUNK_CELLS = 4_000_000
# With fewer than this many units per distinct unit, resample units one by one instead
# of drawing multinomial counts (one binomial draw costs about three direct draws).
_DIRECT_BELOW = 3


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.95996... for 0.95."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(
    successes: np.ndarray | float,
    n: np.ndarray | float,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, vectorised; NaN where n == 0.

    Wilson, E. B. (1927). "Probable inference, the law of succession, and statistical
    inference". JASA 22(158): 209-212. Recommended over the Wald interval for small n and
    rates near 0 or 1 by Agresti, A. & Coull, B. A. (1998). "Approximate is better than
    'exact' for interval estimation of binomial proportions". The American Statistician
    52(2): 119-126. With p = successes / n and z the normal quantile:

        centre = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

    `n` may be an effective sample size (not an integer) for clustered rows.
    The bounds are clipped to [0, 1] and to contain p against rounding.
    """
    z = z_value(confidence)
    successes = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        z2n = z * z / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n + z2n / (4 * n))
        low = np.clip(np.minimum(centre - half, p), 0.0, 1.0)
        high = np.clip(np.maximum(centre + half, p), 0.0, 1.0)
    return low, high


def bootstrap_ratio_interval(
    totals: np.ndarray,
    weights: np.ndarray,
    counts: np.ndarray,
    *,
    rng: np.random.Generator,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of sum(totals) / sum(weights) over resampled units.

    The sample is given compressed: distinct units (`totals[i]`, `weights[i]`) occurring
    `counts[i]` times. Drawing n units with replacement from it is exactly a
    multinomial draw of how often each distinct unit is taken (Efron, B. & Tibshirani,
    R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 6 and 13), so
    each resample costs the number of distinct units, not the number of rows: a mean of
    rank weights or of nDCG@10 has few distinct values. Small samples are resampled
    unit by unit instead (the same distribution, cheaper there). A unit is a row (weight 1: the
    plain mean) or a customer with several rows (its sum and row count: the cluster
    bootstrap, which keeps one customer's rows together).
    """
    n_units = int(counts.sum())
    if n_units == 0:
        return float("nan"), float("nan")
    if len(counts) == 1:
        value = float(totals[0] / weights[0])
        return value, value
    estimates = np.empty(n_resamples)
    if n_units < _DIRECT_BELOW * len(counts):
        # Mostly distinct units: drawing them one by one is cheaper.
        units = np.repeat(np.arange(len(counts)), counts)
        chunk = max(1, min(n_resamples, _CHUNK_CELLS // n_units))
        for start in range(0, n_resamples, chunk):
            size = min(chunk, n_resamples - start)
            taken = units[rng.integers(0, n_units, size=(size, n_units))]
            estimates[start : start + size] = totals[taken].sum(axis=1) / weights[taken].sum(axis=1)
    else:
        probabilities = counts / n_units
        chunk = max(1, min(n_resamples, _CHUNK_CELLS // len(counts)))
        for start in range(0, n_resamples, chunk):
            size = min(chunk, n_resamples - start)
            taken = rng.multinomial(n_units, probabilities, size=size)
            estimates[start : start + size] = (taken @ totals) / (taken @ weights)
    alpha = 1 - confidence
    return _percentile(estimates, alpha / 2), _percentile(estimates, 1 - alpha / 2)


def _percentile(estimates: np.ndarray, q: float) -> float:
    """np.quantile(estimates, q) (its default 'linear' method), cheaper for one q."""
    position = q * (len(estimates) - 1)
    below = int(np.floor(position))
    above = min(below + 1, len(estimates) - 1)
    part = np.partition(estimates, (below, above))
    return float(part[below] + (position - below) * (part[above] - part[below]))
