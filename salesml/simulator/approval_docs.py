"""Opt-in document references of simulated approvals (``simulate(approval_documents=True)``).

Each approval step of a customer record names the documents it was decided on, in an
additive ``approvals.document_ref`` column (the optional column of the data model; one
or more references separated by ``"; "``):

- initial review: the business licence (``LIC-``) always, the legal representative's
  ID (``IDC-``) in 90% and the invoicing details (``INV-``) in 70% of the steps;
- final review: the framework contract (``CON-``) always and, for key accounts, the
  credit application (``CRD-``) in 80%;
- 4% of the steps name no document (an empty cell, as in real exports).

A reference is the document kind and the approval id (``LIC-AP0000012``). The draws
come from a stream of their own (``[seed, chunk, APPROVAL_DOCS_TAG]``), so every other
column and table is as without the switch; off (the default) there is no such column.
"""

from __future__ import annotations

import numpy as np

__all__ = ["APPROVAL_DOCS_TAG", "DOCUMENT_KINDS", "document_refs"]

#: Tag of the document references' own random stream.
APPROVAL_DOCS_TAG = 0xD0C5
#: Per step: (code, probability, key accounts only) of each document kind.
DOCUMENT_KINDS: dict[str, tuple[tuple[str, float, bool], ...]] = {
    "initial": (("LIC", 1.0, False), ("IDC", 0.9, False), ("INV", 0.7, False)),
    "final": (("CON", 1.0, False), ("CRD", 0.8, True)),
}
#: Share of steps that name no document.
MISSING_SHARE = 0.04


def document_refs(
    rng: np.random.Generator,
    approval_ids: np.ndarray,
    steps: np.ndarray,
    key_account: np.ndarray,
) -> np.ndarray:
    """The ``document_ref`` cell of each approval step (``None``: no document).

    Parameters
    ----------
    rng
        The references' own stream.
    approval_ids, steps, key_account
        Per approval step: its id, ``initial``/``final`` and whether the customer is
        a key account.

    Returns
    -------
    numpy.ndarray
        Object array of ``"; "``-joined references or ``None``.
    """
    n = len(approval_ids)
    ids = np.asarray(approval_ids, dtype=object)
    steps = np.asarray(steps, dtype=object)
    key = np.asarray(key_account, dtype=bool)
    out = np.full(n, "", dtype=object)
    for step, kinds in DOCUMENT_KINDS.items():
        at = steps == step
        for code, p, key_only in kinds:
            has = at & (rng.random(n) < p)
            if key_only:
                has &= key
            ref = np.char.add(f"{code}-", ids[has].astype(str)).astype(object)
            sep = np.where(out[has] == "", "", "; ").astype(object)
            out[has] = out[has] + sep + ref
    missing = rng.random(n) < MISSING_SHARE
    out[missing | (out == "")] = None
    return out
