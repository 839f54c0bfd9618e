"""A trained model to bytes and back (numpy's compressed archive, no pickle)."""

from __future__ import annotations

import io
import json

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
    }
    np.savez_compressed(
        buffer,
        item_keys=model.item_keys,
        data=matrix.data,
        indices=matrix.indices,
        indptr=matrix.indptr,
        popularity=model.popularity,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    )
    return buffer.getvalue()


def model_from_bytes(data: bytes | memoryview) -> Model:
    with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
        matrix = sparse.csr_matrix(
            (archive["data"], archive["indices"], archive["indptr"]), shape=tuple(meta["shape"])
        )
        return Model(
            item_keys=archive["item_keys"],
            neighbourhood=matrix,
            popularity=archive["popularity"],
            params=Parameters.from_dict(meta["params"]),
            trained_at=float(meta["trained_at"]),
            counts=dict(meta["counts"]),
        )
