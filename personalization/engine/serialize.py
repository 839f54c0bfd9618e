"""A trained model to bytes and back (numpy's compressed archive, no pickle).

Arrays: item_keys, the neighbourhood as CSR (data, indices, indptr), popularity,
popularity_raw, ease_items and gram_inverse (EASE^R's P, float64, N x N; empty for the
other families); meta (JSON): params, trained_at, counts, shape, family. An artifact
from before the families is read as the item-kNN family.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
from scipy import sparse

from personalization.engine.params import Parameters
from personalization.engine.training import Model


def model_to_bytes(model: Model) -> bytes:
    buffer = io.BytesIO()
    matrix = model.neighbourhood.tocsr()
    meta = {
        "params": model.params.to_dict(),
        "trained_at": model.trained_at,
        "counts": model.counts,
        "shape": list(matrix.shape),
        "family": model.family,
    }
    raw = model.popularity_raw if model.popularity_raw is not None else np.zeros(0)
    p = model.gram_inverse if model.gram_inverse is not None else np.zeros((0, 0))
    np.savez_compressed(
        buffer,
        item_keys=model.item_keys,
        data=matrix.data,
        indices=matrix.indices,
        indptr=matrix.indptr,
        popularity=model.popularity,
        popularity_raw=raw,
        ease_items=model.ease_items,
        gram_inverse=p,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    )
    return buffer.getvalue()


def model_from_bytes(data: bytes | memoryview) -> Model:
    with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
        matrix = sparse.csr_matrix(
            (archive["data"], archive["indices"], archive["indptr"]), shape=tuple(meta["shape"])
        )
        family = str(meta.get("family", "knn"))
        names = set(archive.files)
        ease_items = archive["ease_items"] if "ease_items" in names else np.zeros(0, np.int64)
        p = archive["gram_inverse"] if "gram_inverse" in names else np.zeros((0, 0))
        raw = archive["popularity_raw"] if "popularity_raw" in names else np.zeros(0)
        return Model(
            item_keys=archive["item_keys"],
            neighbourhood=matrix,
            popularity=archive["popularity"],
            params=replace(Parameters.from_dict(meta["params"]), family=family),
            trained_at=float(meta["trained_at"]),
            counts=dict(meta["counts"]),
            family=family,
            ease_items=ease_items.astype(np.int64),
            gram_inverse=p if family == "ease" else None,
            popularity_raw=raw if len(raw) else None,
        )
