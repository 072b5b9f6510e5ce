"""A digest of simulated data that is the same on every machine.

``SalesData.fingerprint()`` hashes exact bytes. The simulator's output is bit-identical
for one seed on one machine, but numpy picks its ``exp``/``log``/``sin`` kernels by CPU
(AVX-512 kernels differ from the AVX2 ones in the last bit), so floats derived through
them differ by an ulp between machines. The golden tests and ``expected_cac.json`` pin
the generator with this digest instead: every float is rounded to about ten significant
digits (33 bits of mantissa) and every timestamp to the second before hashing (event
times are drawn as float days and kept to the microsecond, so an ulp flips about one
timestamp in 30,000 by one microsecond), so an ulp does not matter and any real change to
a draw or a formula still does.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData

__all__ = ["rounded", "stable_digest"]

_MANTISSA_BITS = 33


def rounded(v: object) -> object:
    """``v`` (frame, series, float, dict, list): floats to 33 mantissa bits, times to the second."""
    if isinstance(v, pd.DataFrame):
        out = v.copy()
        for c in out.columns:
            if pd.api.types.is_float_dtype(out[c]) or pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = rounded(out[c])
        return out
    if isinstance(v, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(v):
            return v.dt.floor("s")
        if not pd.api.types.is_float_dtype(v):
            return v
        m, e = np.frexp(v.to_numpy(dtype="float64"))
        x = np.ldexp(np.round(m * 2.0**_MANTISSA_BITS) / 2.0**_MANTISSA_BITS, e)
        return pd.Series(x, index=v.index, name=v.name)
    if isinstance(v, float | np.floating):
        m, e = np.frexp(float(v))
        return float(np.ldexp(np.round(m * 2.0**_MANTISSA_BITS) / 2.0**_MANTISSA_BITS, e))
    if isinstance(v, dict):
        return {k: rounded(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [rounded(x) for x in v]
    return v


def _update(h: hashlib._Hash, v: object) -> None:
    v = rounded(v)
    if isinstance(v, pd.DataFrame | pd.Series):
        kind = v.dtypes.astype(str).to_dict() if isinstance(v, pd.DataFrame) else str(v.dtype)
        h.update(repr((v.shape, v.index.name, kind)).encode())
        if len(v):
            h.update(pd.util.hash_pandas_object(v, index=True).to_numpy().tobytes())
    elif isinstance(v, pd.Index):
        h.update(json.dumps([str(x) for x in v]).encode())
    elif isinstance(v, pd.Timestamp):
        h.update(v.isoformat().encode())
    else:
        h.update(json.dumps(v, sort_keys=True, default=repr).encode())


def stable_digest(data: SalesData | None = None, **values: object) -> str:
    """16 hex digits over ``data``'s tables and/or named values, floats rounded (see module)."""
    h = hashlib.sha256()
    if data is not None:
        for name in sorted(data.tables):
            df = data.tables[name]
            h.update(name.encode())
            h.update(",".join(map(str, df.columns)).encode())
            _update(h, df.reset_index(drop=True))
    for name, v in values.items():
        h.update(name.encode())
        _update(h, v)
    return h.hexdigest()[:16]
