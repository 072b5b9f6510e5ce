"""Step: the cost ledger, recorded from the true consumption as real ledgers book it.

Some lines are linked to the action that consumed them (samples, gifts, commissions,
channel fees); most are pooled per campaign, channel, rep or store and calendar
month, dated on the month's last day; exhibitions get one line per show. Also the
campaign budgets, derived from the booked spend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.simulator.helpers import make_ids
from salesml.simulator.params import CHANNELS
from salesml.simulator.state import ChunkOutput, ChunkState
from salesml.simulator.world import World

__all__ = ["campaign_budgets", "draw_ledger"]

_COLUMNS = [
    "cost_id",
    "category",
    "amount",
    "incurred_at",
    "campaign_id",
    "channel",
    "store_id",
    "rep_id",
    "activity_id",
    "deal_id",
]


def _pooled(
    cons: pd.DataFrame, mask: np.ndarray, keys: dict[str, np.ndarray], when: np.ndarray
) -> pd.DataFrame:
    """Sum of the masked consumption per key combination; the latest ``when`` of each."""
    df = pd.DataFrame(
        {
            **{k: v[mask] for k, v in keys.items()},
            "amount": cons["amount"].to_numpy()[mask],
            "when": when[mask],
        }
    )
    g = df.groupby(list(keys), sort=True, dropna=False).agg(
        amount=("amount", "sum"), when=("when", "max")
    )
    return g.reset_index()


def draw_ledger(s: ChunkState) -> None:
    """Writes the ``costs`` table from ``consumed`` (the samples' split is random)."""
    w, rng, cons = s.world, s.rng, s.consumed
    act_ids, act_rep = s.activities.ids, s.activities.rep
    deal_ids, d_rep = s.deals.ids, s.deals.rep
    # ledgers book by calendar month, on the month's last day
    month = w.month_of(cons["t"].to_numpy())
    month_end = np.minimum(w.month_starts[month + 1] - 0.5, s.end - 0.01)
    rep_ids = w.reps["rep_id"].to_numpy()
    store_ids = w.stores["store_id"].to_numpy()
    camp_ids = w.campaigns["campaign_id"].to_numpy()
    ch_name = np.array(CHANNELS, dtype=object)
    cat_arr = np.asarray(cons["category"].to_numpy())
    pool = cons["pool"].to_numpy()
    amount = cons["amount"].to_numpy()
    when = cons["t"].to_numpy()
    out = []
    # pooled lines: one per pool (campaign, channel, rep or store) and calendar month
    pooled = {
        "media": ("campaign_id", camp_ids),
        "content": ("channel", ch_name),
        "community_referral": ("channel", ch_name),
        "travel": ("rep_id", rep_ids),
        "tools": ("rep_id", rep_ids),
        "field_promotion_labor": ("store_id", store_ids),
        "store_materials": ("store_id", store_ids),
    }
    for c, (link, ids) in pooled.items():
        g = _pooled(cons, cat_arr == c, {"pool": pool, "month": month}, month_end)
        line = {"category": c, "amount": g["amount"], "incurred_at": g["when"]}
        line[link] = ids[g["pool"].to_numpy()]
        if c == "media":
            line["channel"] = w.camp_channel[g["pool"].to_numpy()]
        out.append(pd.DataFrame(line))
    # events: one line per exhibition, dated at its start
    g = _pooled(cons, cat_arr == "events", {"camp": pool}, when)
    out.append(
        pd.DataFrame(
            {
                "category": "events",
                "amount": g["amount"],
                "incurred_at": w.camp_start[g["camp"].to_numpy()],
                "campaign_id": camp_ids[g["camp"].to_numpy()],
                "channel": "exhibition",
            }
        )
    )
    act = cons["activity"].to_numpy()

    def by_activity(c: str, mask: np.ndarray) -> pd.DataFrame:
        ai = act[mask].astype(int)
        return pd.DataFrame(
            {
                "category": c,
                "amount": amount[mask],
                "incurred_at": when[mask],
                "activity_id": act_ids[ai],
                "rep_id": rep_ids[act_rep[ai]],
            }
        )

    # samples: 60% booked per activity, 40% per rep and month; gifts: per activity
    m = cat_arr == "samples"
    direct = m & (rng.random(len(cons)) < 0.6)
    out.append(by_activity("samples", direct))
    g = _pooled(cons, m & ~direct, {"rep": pool, "month": month}, month_end)
    out.append(
        pd.DataFrame(
            {
                "category": "samples",
                "amount": g["amount"],
                "incurred_at": g["when"],
                "rep_id": rep_ids[g["rep"].to_numpy()],
            }
        )
    )
    out.append(by_activity("gifts", cat_arr == "gifts"))
    # commissions / channel fees: per won deal
    for c in ("commissions", "channel_fees"):
        m = cat_arr == c
        di = pool[m].astype(int)
        out.append(
            pd.DataFrame(
                {
                    "category": c,
                    "amount": amount[m],
                    "incurred_at": when[m],
                    "deal_id": deal_ids[di],
                    "rep_id": rep_ids[d_rep[di]] if c == "commissions" else None,
                    "channel": "partner" if c == "channel_fees" else None,
                }
            )
        )
    led = pd.concat(out, ignore_index=True)
    led = led.loc[led["amount"].to_numpy() > 0].sort_values("incurred_at", kind="stable")
    led["amount"] = np.round(led["amount"].to_numpy(), 2)
    for col in _COLUMNS[4:]:
        if col not in led:
            led[col] = None
    led.insert(0, "cost_id", make_ids("X", s.offsets["cost"] + 1, len(led), 8))
    s.tables["costs"] = led[_COLUMNS].reset_index(drop=True)


def campaign_budgets(world: World, chunks: list[ChunkOutput]) -> pd.DataFrame:
    """The campaigns table with budgets: the booked spend, give or take 5-15%."""
    camps = world.campaigns.copy()
    spend = pd.concat([c.tables["costs"] for c in chunks]).groupby("campaign_id")["amount"].sum()
    rng = np.random.default_rng(7)
    budget = spend.reindex(camps["campaign_id"]).fillna(0.0).to_numpy() * rng.uniform(
        0.95, 1.15, len(camps)
    )
    camps["budget"] = np.round(budget, -2)
    return camps
