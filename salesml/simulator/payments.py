"""Step: contracts of won deals and their payments (some planted to stay unpaid)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import make_ids
from salesml.simulator.state import ChunkState

__all__ = ["draw_contracts_and_payments"]


def draw_contracts_and_payments(s: ChunkState) -> None:
    """Writes the ``contracts`` and ``payments`` tables; plants ``truth["unpaid_contract_ids"]``.

    Each won deal signs a contract at close (terms 30, 60 or 90 days); 7% are never
    paid, 35% are paid in two halves (at half the term and at the term), the rest
    in one payment around half the term. Also records, for the truth, when each
    contract's last instalment is planted (``truth["contract_paid_in_full_days"]``,
    NaN if never paid; it may fall after the simulated window), with no extra draw.
    """
    rng, d, sg = s.rng, s.deals, s.stages
    T = s.end
    close_t, amount = sg.close, d.amount
    wdeals = np.flatnonzero(sg.won)
    nK = len(wdeals)
    k_ids = make_ids("K", s.offsets["contract"] + 1, nK, 7)
    terms = rng.choice([30, 60, 90], size=nK, p=[0.4, 0.4, 0.2])
    s.tables["contracts"] = pd.DataFrame(
        {
            "contract_id": k_ids,
            "deal_id": d.ids[wdeals],
            "signed_at": close_t[wdeals],
            "amount": amount[wdeals],
            "payment_terms_days": terms,
        }
    )
    unpaid = rng.random(nK) < 0.07
    two = rng.random(nK) < 0.35
    n_pay = np.where(unpaid, 0, np.where(two, 2, 1))
    pk = np.repeat(np.arange(nK), n_pay)
    inst = np.concatenate([np.arange(n) for n in n_pay]) if nK else np.array([], int)
    frac_amt = np.where(two[pk], 0.5, 1.0)
    pay_t = (
        close_t[wdeals][pk]
        + np.where(inst == 0, 0.5, 1.0) * terms[pk]
        + rng.normal(3, 6, len(pk)).clip(-5, 60)
    )
    pay_t = np.maximum(pay_t, close_t[wdeals][pk] + 0.1)
    s.tables["payments"] = pd.DataFrame(
        {
            "payment_id": make_ids("P", s.offsets["payment"] + 1, len(pk), 7),
            "contract_id": k_ids[pk],
            "paid_at": pay_t,
            "amount": np.round(amount[wdeals][pk] * frac_amt, 2),
        }
    ).loc[pay_t < T]
    s.truth["unpaid_contract_ids"] = k_ids[unpaid]
    # when the last instalment is planted: the contract is paid in full then
    full = np.full(nK, -np.inf)
    np.maximum.at(full, pk, pay_t)
    s.truth["contract_paid_in_full_days"] = np.where(np.isinf(full), np.nan, full)
