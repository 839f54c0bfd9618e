"""Row-to-group maps for every audit attribute and their intersections.

Each attribute is an array of integer codes, one per row, indexing its `labels`;
`MISSING` (-1) means the customer did not declare it (or gave no fairness_audit consent).
A row with a missing code is left out of every group of that attribute and of every
intersection that includes it; it still counts in the groups of the attributes it has,
and in each segment's total (which the suppression rule treats as known to the owner).
A missing code is never reported as a group.

An intersection's cell code combines its attributes' codes in mixed radix
(`np.ravel_multi_index` order), so every group-by is one `np.bincount`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

MISSING = -1


@dataclass(frozen=True, eq=False)
class Attribute:
    """An audit attribute (or a segmenting column such as the offer type) as row codes."""

    name: str
    codes: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        if codes.ndim != 1:
            raise ValueError(f"{self.name}: codes must be one-dimensional")
        if codes.dtype.kind not in "iub" and codes.size:
            raise ValueError(f"{self.name}: codes must be integers")
        codes = codes.astype(np.int64, copy=False)
        if codes.size and (codes.min() < MISSING or codes.max() >= len(self.labels)):
            raise ValueError(
                f"{self.name}: codes must be {MISSING} (missing) or 0..{len(self.labels) - 1}"
            )
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"{self.name}: labels must be distinct")
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))

    @classmethod
    def from_values(
        cls, name: str, values: Iterable[object], *, labels: Sequence[str] | None = None
    ) -> Attribute:
        """Codes from raw values; None or "" is missing. Labels sorted unless given."""
        raw = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
        raw = raw.astype(object)
        present = (raw != None) & (raw != "")  # noqa: E711 (elementwise on an object array)
        found, inverse = np.unique(raw[present].astype(str), return_inverse=True)
        if labels is None:
            labels = found.tolist()
        index = {label: code for code, label in enumerate(labels)}
        unknown = [label for label in found.tolist() if label not in index]
        if unknown:
            raise ValueError(f"{name}: values not in labels: {unknown[:5]}")
        lookup = np.array([index[label] for label in found.tolist()], dtype=np.int64)
        codes = np.full(len(raw), MISSING, dtype=np.int64)
        codes[present] = lookup[inverse]
        return cls(name=name, codes=codes, labels=tuple(labels))


@dataclass(frozen=True, eq=False)
class GroupTable:
    """One attribute or one intersection of attributes.

    `keys[row]` is segment * size + cell, or `sentinel` (segments * size) when the row
    has a missing code for one of the attributes or a missing segment, so one
    `np.bincount(keys, minlength=sentinel + 1)[:sentinel]` counts every group of every
    segment. `customer_cells[customer]` is the customer's cell (MISSING if undeclared).
    """

    attributes: tuple[str, ...]
    positions: tuple[int, ...]
    shape: tuple[int, ...]
    keys: np.ndarray
    sentinel: int
    customer_cells: np.ndarray | None

    @property
    def order(self) -> int:
        return len(self.attributes)

    @property
    def size(self) -> int:
        """Cells per segment."""
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class Groups:
    """Every table an audit reports for one set of rows, built once and reused by each metric."""

    attributes: tuple[Attribute, ...]
    tables: tuple[GroupTable, ...]
    n_rows: int
    segment_name: str | None
    segment_labels: tuple[str | None, ...]
    segment_codes: np.ndarray
    customers: np.ndarray | None
    n_customers: int
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_segments(self) -> int:
        return len(self.segment_labels)

    def table(self, *attributes: str) -> GroupTable:
        for table in self.tables:
            if table.attributes == tuple(attributes):
                return table
        raise KeyError(attributes)

    def unit_codes(self) -> np.ndarray:
        """segment * customers + customer per row; segments * customers if no segment."""
        if "unit_codes" not in self.cache:
            assert self.customers is not None  # noqa: S101
            sentinel = self.n_segments * self.n_customers
            codes = self.segment_codes * self.n_customers + self.customers
            self.cache["unit_codes"] = np.where(
                self.segment_codes == self.n_segments, sentinel, codes
            )
        return self.cache["unit_codes"]


def build_groups(
    attributes: Sequence[Attribute],
    *,
    segments: Attribute | None = None,
    customers: np.ndarray | Sequence[int] | None = None,
    max_order: int = 3,
) -> Groups:
    """Tables for each attribute and each intersection of up to `max_order` attributes.

    `segments` (optional, e.g. the category or offer type of a (customer, category)
    row) measures every group separately in each segment; rows with a missing segment
    are left out. `customers` (optional, one integer id per row) makes group sizes count
    distinct customers, which is what the minimum group size protects, and lets
    intervals allow for several rows of one customer. Audit attributes describe a
    customer, so every row of one customer must carry the same codes: ValueError if not.
    """
    attributes = tuple(attributes)
    if not attributes:
        raise ValueError("at least one attribute is needed")
    names = [a.name for a in attributes]
    if len(set(names)) != len(names):
        raise ValueError("attribute names must be distinct")
    n_rows = len(attributes[0].codes)
    for attribute in [*attributes, *([segments] if segments is not None else [])]:
        if len(attribute.codes) != n_rows:
            raise ValueError(f"{attribute.name}: {len(attribute.codes)} codes for {n_rows} rows")

    if segments is None:
        segment_labels: tuple[str | None, ...] = (None,)
        segment_codes = np.zeros(n_rows, dtype=np.int64)
    else:
        segment_labels = segments.labels
        segment_codes = np.where(
            segments.codes == MISSING, len(segment_labels), segments.codes
        ).astype(np.int64)
    n_segments = len(segment_labels)
    dense, n_customers = _dense_customers(customers, n_rows)

    per_customer = (
        []
        if dense is None
        else [_per_customer(a.codes, dense, n_customers, a.name) for a in attributes]
    )
    tables = []
    for order in range(1, min(max_order, len(attributes)) + 1):
        for positions in combinations(range(len(attributes)), order):
            shape = tuple(len(attributes[p].labels) for p in positions)
            size = int(np.prod(shape, dtype=np.int64))
            cells = _combined_codes([attributes[p].codes for p in positions], shape)
            customer_cells = None
            if dense is not None:
                customer_cells = _combined_codes([per_customer[p] for p in positions], shape)
            sentinel = n_segments * size
            keys = segment_codes * size if n_segments > 1 else np.zeros(n_rows, dtype=np.int64)
            keys += cells
            keys[(cells == MISSING) | (segment_codes == n_segments)] = sentinel
            tables.append(
                GroupTable(
                    attributes=tuple(names[p] for p in positions),
                    positions=positions,
                    shape=shape,
                    keys=keys,
                    sentinel=sentinel,
                    customer_cells=customer_cells,
                )
            )
    return Groups(
        attributes=attributes,
        tables=tuple(tables),
        n_rows=n_rows,
        segment_name=None if segments is None else segments.name,
        segment_labels=segment_labels,
        segment_codes=segment_codes,
        customers=dense,
        n_customers=n_customers,
    )


def _combined_codes(codes: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    if len(codes) == 1:
        return codes[0]
    combined = codes[0].copy()
    missing = codes[0] == MISSING
    for code, width in zip(codes[1:], shape[1:], strict=True):
        combined *= width
        combined += code
        missing |= code == MISSING
    combined[missing] = MISSING
    return combined


def _dense_customers(
    customers: np.ndarray | Sequence[int] | None, n_rows: int
) -> tuple[np.ndarray | None, int]:
    """Customer ids as 0..C-1 (ids used as they are when small and non-negative)."""
    if customers is None:
        return None, 0
    ids = np.asarray(customers)
    if len(ids) != n_rows:
        raise ValueError(f"customers: {len(ids)} ids for {n_rows} rows")
    if not n_rows:
        return np.zeros(0, dtype=np.int64), 0
    if ids.dtype.kind not in "iu":
        raise ValueError("customers: ids must be integers")
    ids = ids.astype(np.int64, copy=False)
    low, high = int(ids.min()), int(ids.max())
    if low >= 0 and high < 2 * n_rows + 1024:
        return ids, high + 1
    uniq, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64, copy=False).reshape(-1), len(uniq)


def _per_customer(
    codes: np.ndarray, customers: np.ndarray, n_customers: int, name: str
) -> np.ndarray:
    per_customer = np.full(n_customers, MISSING, dtype=np.int64)
    per_customer[customers] = codes
    if not np.array_equal(per_customer[customers], codes):
        raise ValueError(f"{name}: one customer's rows carry different codes")
    return per_customer
