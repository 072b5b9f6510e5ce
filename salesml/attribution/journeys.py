"""Customer journeys: ordered touch paths per customer and per unconverted lead.

A **touch** is one recorded contact between the organisation and a prospect,
labelled for attribution:

- each lead is a touch labelled with its marketing channel (``online_ads``,
  ``wechat``, ``exhibition``, ``store_walkin``, ``referral``, ``telesales``,
  ``partner``), dated ``created_at``; a lead of a campaign therefore counts as a
  touch of that campaign's channel;
- each sales activity (visit, call, message, demo, ...) is a touch labelled by its
  ``kind`` (or its contact ``channel``: onsite, phone, wechat, ...), dated
  ``occurred_at``; activities can be left out (``activity_label=None``) to attribute
  between marketing channels only.

A journey is a customer's touches (its leads and activities) in time order, cut at
its acquisition (first won deal) when it converts; a lead that never became a
customer is a journey of one touch that did not convert. The conversion value is
the amount of the acquiring deal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesml.data.bundle import SalesData

__all__ = ["journeys"]


def journeys(
    data: SalesData,
    *,
    activity_label: Literal["kind", "channel"] | None = "kind",
    activity_kinds: Sequence[str] | None = None,
    collapse_repeats: bool = True,
    sep: str = ">",
) -> pd.DataFrame:
    """Ordered touch paths per customer and per unconverted lead.

    Parameters
    ----------
    data
        A dataset with ``customers``, ``deals`` and ``leads``; ``activities`` if
        ``activity_label`` is set.
    activity_label
        Label activities by ``kind`` or by contact ``channel``; ``None`` leaves
        activities out (leads only).
    activity_kinds
        Only these activity kinds are touches (all by default).
    collapse_repeats
        Merge consecutive touches with the same label (``visit>visit`` -> ``visit``).
    sep
        Separator of the ``path`` string.

    Returns
    -------
    pandas.DataFrame
        One row per journey: ``journey_id`` (customer or lead id), ``kind``
        (``customer``/``lead``), ``channel`` (source channel), ``path`` (touch
        labels joined by ``sep``), ``touches`` (list of labels), ``times`` (numpy
        array of timestamps), ``n_touches``, ``first_touch_at``, ``last_touch_at``,
        ``converted`` (bool), ``converted_at``, ``value`` (amount of the acquiring deal, 0 if not converted).
        Journeys without any touch are left out.
    """
    data.require("customers", "deals", "leads", analysis="customer journeys")
    if activity_label is not None:
        data.require("activities", analysis="customer journeys with activity touches")
    cust = data.customers
    deals = data.deals
    won = deals[(deals["outcome"] == "won") & deals["closed_at"].notna()]
    first_won = won.sort_values(["closed_at", "deal_id"]).drop_duplicates("customer_id")
    acq_at = first_won.set_index("customer_id")["closed_at"]
    acq_val = first_won.set_index("customer_id")["amount"]

    ld = data.leads
    jid = ld["customer_id"].astype("str").where(ld["customer_id"].notna(), ld["lead_id"])
    parts = [
        pd.DataFrame(
            {
                "journey_id": jid.astype("str").to_numpy(),
                "label": ld["channel"].astype("str").to_numpy(),
                "at": ld["created_at"].to_numpy(),
                "order": 0,
            }
        )
    ]
    if activity_label is not None:
        act = data.activities
        if activity_kinds is not None:
            act = act[act["kind"].isin(list(activity_kinds))]
        parts.append(
            pd.DataFrame(
                {
                    "journey_id": act["customer_id"].astype("str").to_numpy(),
                    "label": act[activity_label].astype("str").to_numpy(),
                    "at": act["occurred_at"].to_numpy(),
                    "order": 1,
                }
            )
        )
    t = pd.concat(parts, ignore_index=True)
    cut = t["journey_id"].map(acq_at)
    t = t[cut.isna().to_numpy() | (t["at"] <= cut).to_numpy()]
    # Order touches with integer keys (no string sort), then build paths in Arrow.
    jcode, jids = pd.factorize(t["journey_id"], sort=True)
    at = t["at"].to_numpy(dtype="datetime64[us]")
    order = np.lexsort((t["order"].to_numpy(), at.view("int64"), jcode))
    jcode = jcode[order]
    at = at[order]
    labels = t["label"].to_numpy(dtype=object)[order]
    if collapse_repeats and len(jcode):
        keep = np.concatenate([[True], (jcode[1:] != jcode[:-1]) | (labels[1:] != labels[:-1])])
        jcode, at, labels = jcode[keep], at[keep], labels[keep]
    starts = (
        np.flatnonzero(np.concatenate([[True], jcode[1:] != jcode[:-1]]))
        if len(jcode)
        else (np.array([], dtype=np.int64))
    )
    offsets = np.append(starts, len(jcode)).astype("int32")
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(labels, type=pa.string()))
    out = pd.DataFrame({"journey_id": np.asarray(jids, dtype=object)[jcode[starts]]})
    out["path"] = pd.array(pc.binary_join(lists, sep), dtype="str")
    out["touches"] = lists.to_pylist()
    out["times"] = np.split(at, starts[1:]) if len(starts) else []
    out["n_touches"] = np.diff(offsets)
    out["first_touch_at"] = at[starts] if len(starts) else pd.Series(dtype="datetime64[us]")
    out["last_touch_at"] = at[offsets[1:] - 1] if len(starts) else pd.Series(dtype="datetime64[us]")
    is_cust = out["journey_id"].isin(cust["customer_id"].astype("str"))
    out["kind"] = np.where(is_cust, "customer", "lead")
    ch_c = cust.set_index("customer_id")["source_channel"]
    ch_l = ld.set_index("lead_id")["channel"]
    out["channel"] = out["journey_id"].map(ch_c).fillna(out["journey_id"].map(ch_l))
    out["converted_at"] = out["journey_id"].map(acq_at)
    out["converted"] = out["converted_at"].notna()
    out["value"] = out["journey_id"].map(acq_val).fillna(0.0).astype("float64")
    return out[
        [
            "journey_id",
            "kind",
            "channel",
            "path",
            "touches",
            "times",
            "n_touches",
            "first_touch_at",
            "last_touch_at",
            "converted",
            "converted_at",
            "value",
        ]
    ]
