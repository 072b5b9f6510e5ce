"""What follow-up rules look at: one frame per kind of subject, built as of a date.

Each builder returns one row per subject known at ``as_of`` with the columns rules
may name (documented below, display names in the label catalog), computed only from
what was known then: rows dated after ``as_of`` are left out, replies, decisions,
payments and closings after it are treated as not (yet) happened. Every frame has
``subject_id``, ``customer_id``, ``rep_id`` (the person who owns the follow-up before
any escalation), ``region`` and ``resolved_at`` (when the event was settled: a reply,
a payment, a decision; missing while open).

``quote``
    ``quote_id``, ``deal_id``, ``version``, ``amount``, ``sent_at``, ``first_viewed_at``,
    ``replied_at``, ``hours_waiting`` (hours from the first view to the reply, or to
    ``as_of`` while unanswered; missing if never viewed), ``replied``,
    ``is_last_version``, ``deal_open``.
``contract``
    ``contract_id``, ``deal_id``, ``amount``, ``signed_at``, ``payment_terms_days``,
    ``due_at`` (``signed_at + payment_terms_days``), ``paid_amount``, ``unpaid_amount``
    (received by ``as_of`` and what is left), ``first_paid_at``, ``paid_in_full_at`` (the
    payment that brought the total received to the amount, within
    :data:`PAID_IN_FULL_TOLERANCE`; missing while not paid in full), ``days_since_signed``,
    ``days_past_due`` (``as_of - due_at``, negative before the due date), ``days_overdue``
    (from the due date to full payment, or to ``as_of`` while not paid in full: how late
    the money is or was; negative when paid in full early). ``resolved_at`` is
    ``paid_in_full_at``.
``customer``
    the columns of :func:`salesml.rules.metrics.customer_metrics`, ``tier`` (from the tier
    rules), ``untouched_since`` (last touch, or creation when never touched).
``approval``
    ``approval_id``, ``step``, ``reviewer_id``, ``submitted_at``, ``decided_at``,
    ``decision``, ``hours_waiting`` (to the decision, or to ``as_of`` while pending), ``pending``.
``activity``
    ``activity_id``, ``deal_id``, ``kind``, ``channel``, ``occurred_at``, ``duration_min``,
    ``quality``, ``days_ago``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesml.data.bundle import SalesData
from salesml.rules.metrics import codes_of, customer_metrics, lookup

__all__ = [
    "PAID_IN_FULL_TOLERANCE",
    "SUBJECTS",
    "SUBJECT_DTYPES",
    "SUBJECT_TABLES",
    "build_subject",
]

#: A contract is paid in full when what was received by ``as_of`` is within this much of
#: its amount (one cent: instalments rounded to the cent may fall short by one).
PAID_IN_FULL_TOLERANCE = 0.01

#: The kinds of subject a rule may name.
SUBJECTS: tuple[str, ...] = ("quote", "contract", "customer", "approval", "activity")

#: Tables each subject needs.
SUBJECT_TABLES: dict[str, tuple[str, ...]] = {
    "quote": ("quotes", "deals"),
    "contract": ("contracts", "deals"),
    "customer": ("customers",),
    "approval": ("approvals",),
    "activity": ("activities",),
}

_COMMON = {
    "subject_id": "str",
    "customer_id": "str",
    "rep_id": "str",
    "region": "str",
    "resolved_at": "datetime64[us]",
}

#: Columns of each subject frame and their kinds (rules are checked against them).
SUBJECT_DTYPES: dict[str, dict[str, str]] = {
    "quote": _COMMON
    | {
        "quote_id": "str",
        "deal_id": "str",
        "version": "int64",
        "amount": "float64",
        "sent_at": "datetime64[us]",
        "first_viewed_at": "datetime64[us]",
        "replied_at": "datetime64[us]",
        "hours_waiting": "float64",
        "replied": "bool",
        "is_last_version": "bool",
        "deal_open": "bool",
    },
    "contract": _COMMON
    | {
        "contract_id": "str",
        "deal_id": "str",
        "amount": "float64",
        "signed_at": "datetime64[us]",
        "payment_terms_days": "float64",
        "due_at": "datetime64[us]",
        "paid_amount": "float64",
        "unpaid_amount": "float64",
        "first_paid_at": "datetime64[us]",
        "paid_in_full_at": "datetime64[us]",
        "days_since_signed": "float64",
        "days_past_due": "float64",
        "days_overdue": "float64",
    },
    "customer": _COMMON
    | {
        "monthly_purchase": "float64",
        "purchases_12m": "int64",
        "purchase_amount_12m": "float64",
        "repurchase_rate": "float64",
        "days_since_purchase": "float64",
        "days_since_touch": "float64",
        "touches_90d": "int64",
        "open_pipeline": "float64",
        "open_deals": "int64",
        "overdue_amount": "float64",
        "payment_delay_days": "float64",
        "segment": "str",
        "owner_rep_id": "str",
        "created_at": "datetime64[us]",
        "last_touch_at": "datetime64[us]",
        "last_purchase_at": "datetime64[us]",
        "untouched_since": "datetime64[us]",
        "tier": "str",
    },
    "approval": _COMMON
    | {
        "approval_id": "str",
        "step": "str",
        "reviewer_id": "str",
        "submitted_at": "datetime64[us]",
        "decided_at": "datetime64[us]",
        "decision": "str",
        "hours_waiting": "float64",
        "pending": "bool",
    },
    "activity": _COMMON
    | {
        "activity_id": "str",
        "deal_id": "str",
        "kind": "str",
        "channel": "str",
        "occurred_at": "datetime64[us]",
        "duration_min": "float64",
        "quality": "float64",
        "days_ago": "float64",
    },
}

_HOUR = np.timedelta64(1, "h")
_DAY = np.timedelta64(1, "D")


def _known(df: pd.DataFrame, col: str, ts: pd.Timestamp) -> np.ndarray:
    """Rows whose ``col`` is at or before ``ts`` (missing dates kept, as SalesData.as_of does)."""
    s = df[col]
    return (s.isna() | (s <= ts)).to_numpy()


def _hide_after(s: pd.Series, ts: pd.Timestamp) -> pd.Series:
    return s.where(~(s > ts).fillna(False).astype(bool))


def _deal_info(data: SalesData, ts: pd.Timestamp) -> pd.DataFrame:
    d = data.deals[["deal_id", "customer_id", "rep_id", "created_at", "closed_at"]]
    d = d.loc[_known(d, "created_at", ts)]
    open_ = (d["closed_at"].isna() | (d["closed_at"] > ts)).to_numpy()
    out = d[["deal_id", "customer_id", "rep_id"]].assign(deal_open=open_)
    return out.drop_duplicates("deal_id").set_index("deal_id")


def _region_of(data: SalesData, customer_id: pd.Series, rep_id: pd.Series) -> pd.Series:
    """The customer's region, else the rep's."""
    region = pd.Series(pd.NA, index=customer_id.index, dtype="str")
    if data.has("customers") and "region" in data.customers.columns:
        cmap = data.customers.drop_duplicates("customer_id").set_index("customer_id")["region"]
        region = lookup(customer_id, cmap)
    if data.has("reps") and "region" in data.reps.columns:
        rmap = data.reps.drop_duplicates("rep_id").set_index("rep_id")["region"]
        region = region.fillna(lookup(rep_id, rmap))
    return region


def _deal_open(deal_id: pd.Series, deals: pd.DataFrame) -> np.ndarray:
    pos = codes_of(deal_id, deals.index)
    flags = deals["deal_open"].to_numpy(dtype=bool)
    return np.where(pos >= 0, flags[np.where(pos >= 0, pos, 0)], False) if len(flags) else pos >= 0


def _hours(later: object, earlier: object) -> np.ndarray:
    a = np.asarray(later, dtype="datetime64[ns]")
    b = np.asarray(earlier, dtype="datetime64[ns]")
    return (a - b) / _HOUR


def _quote(data: SalesData, ts: pd.Timestamp) -> pd.DataFrame:
    q = data.quotes[
        ["quote_id", "deal_id", "version", "sent_at", "first_viewed_at", "replied_at", "amount"]
    ]
    q = q.loc[_known(q, "sent_at", ts)]
    fv = _hide_after(q["first_viewed_at"], ts)
    rp = _hide_after(q["replied_at"], ts)
    deals = _deal_info(data, ts)
    t64 = np.datetime64(ts, "ns")
    until = np.where(rp.isna().to_numpy(), t64, rp.to_numpy("datetime64[ns]"))
    waiting = np.where(fv.isna().to_numpy(), np.nan, _hours(until, fv))
    last_v = q.groupby("deal_id")["version"].transform("max")
    out = pd.DataFrame(
        {
            "subject_id": q["quote_id"].astype("str"),
            "quote_id": q["quote_id"].astype("str"),
            "deal_id": q["deal_id"].astype("str"),
            "customer_id": lookup(q["deal_id"], deals["customer_id"]),
            "rep_id": lookup(q["deal_id"], deals["rep_id"]),
            "version": q["version"].astype("float64").fillna(0).astype("int64"),
            "amount": q["amount"].astype("float64"),
            "sent_at": q["sent_at"],
            "first_viewed_at": fv,
            "replied_at": rp,
            "hours_waiting": waiting,
            "replied": rp.notna().to_numpy(),
            "is_last_version": (q["version"] == last_v).fillna(False).to_numpy(dtype=bool),
            "deal_open": _deal_open(q["deal_id"], deals),
            "resolved_at": rp,
        }
    )
    out["region"] = _region_of(data, out["customer_id"], out["rep_id"])
    return out


def _contract(data: SalesData, ts: pd.Timestamp) -> pd.DataFrame:
    k = data.contracts[["contract_id", "deal_id", "signed_at", "amount", "payment_terms_days"]]
    k = k.loc[_known(k, "signed_at", ts)]
    deals = _deal_info(data, ts)
    terms = k["payment_terms_days"].astype("float64")
    due = k["signed_at"] + pd.to_timedelta(terms.fillna(0.0), unit="D")
    amount = k["amount"].astype("float64")
    paid = pd.Series(0.0, index=k.index)
    first = pd.Series(pd.NaT, index=k.index, dtype="datetime64[us]")
    full = pd.Series(pd.NaT, index=k.index, dtype="datetime64[us]")
    if data.has("payments"):
        p = data.payments[["contract_id", "paid_at", "amount"]]
        p = p.loc[(p["paid_at"] <= ts).to_numpy()]
        ids = k["contract_id"]
        g = p.groupby("contract_id")
        paid = pd.Series(g["amount"].sum().reindex(ids).to_numpy(), index=k.index).fillna(0.0)
        first = pd.Series(g["paid_at"].min().reindex(ids).to_numpy(), index=k.index)
        full = pd.Series(_paid_in_full_at(p, k).reindex(ids).to_numpy(), index=k.index)
    # nothing owed (an amount of 0): settled when signed
    full = full.where(~(amount <= PAID_IN_FULL_TOLERANCE).to_numpy(), k["signed_at"])
    t64 = np.datetime64(ts, "ns")
    until = np.where(full.isna().to_numpy(), t64, full.to_numpy("datetime64[ns]"))
    out = pd.DataFrame(
        {
            "subject_id": k["contract_id"].astype("str"),
            "contract_id": k["contract_id"].astype("str"),
            "deal_id": k["deal_id"].astype("str"),
            "customer_id": lookup(k["deal_id"], deals["customer_id"]),
            "rep_id": lookup(k["deal_id"], deals["rep_id"]),
            "amount": amount,
            "signed_at": k["signed_at"],
            "payment_terms_days": terms,
            "due_at": due,
            "paid_amount": paid.astype("float64"),
            "unpaid_amount": (amount - paid).clip(lower=0.0),
            "first_paid_at": first,
            "paid_in_full_at": full.astype("datetime64[us]"),
            "days_since_signed": _hours(t64, k["signed_at"]) / 24.0,
            "days_past_due": _hours(t64, due) / 24.0,
            "days_overdue": _hours(until, due) / 24.0,
            "resolved_at": full.astype("datetime64[us]"),
        }
    )
    out["region"] = _region_of(data, out["customer_id"], out["rep_id"])
    return out


def _paid_in_full_at(payments: pd.DataFrame, contracts: pd.DataFrame) -> pd.Series:
    """Per contract id: the payment with which the received total reached the amount.

    Within :data:`PAID_IN_FULL_TOLERANCE` (instalments rounded to the cent may fall short
    of the amount by one); a contract of unknown amount is settled by its first payment.
    """
    owed = lookup(
        payments["contract_id"],
        contracts.drop_duplicates("contract_id").set_index("contract_id")["amount"],
        dtype="float64",
    )
    p = payments.assign(_owed=owed.to_numpy()).sort_values(["contract_id", "paid_at"])
    cum = p.groupby("contract_id")["amount"].cumsum()
    settled = (cum >= p["_owed"] - PAID_IN_FULL_TOLERANCE) | p["_owed"].isna()
    return p.loc[settled.to_numpy()].groupby("contract_id")["paid_at"].min()


def _customer(
    data: SalesData, ts: pd.Timestamp, tiers: pd.Series | None, metrics: pd.DataFrame | None
) -> pd.DataFrame:
    m = customer_metrics(data, as_of=ts) if metrics is None else metrics
    out = m.reset_index()
    out.insert(0, "subject_id", out["customer_id"].astype("str"))
    out["rep_id"] = out["owner_rep_id"].astype("str") if "owner_rep_id" in out else pd.NA
    since = out["last_touch_at"].fillna(out["created_at"]) if "created_at" in out else None
    out["untouched_since"] = out["last_touch_at"] if since is None else since
    out["tier"] = (
        pd.Series(pd.NA, index=out.index, dtype="str")
        if tiers is None
        else out["customer_id"].map(tiers).astype("str")
    )
    out["resolved_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us]")
    return out


def _approval(data: SalesData, ts: pd.Timestamp) -> pd.DataFrame:
    a = data.approvals[
        [
            "approval_id",
            "subject_id",
            "step",
            "reviewer_id",
            "submitted_at",
            "decided_at",
            "decision",
        ]
    ]
    a = a.loc[_known(a, "submitted_at", ts)]
    dec = _hide_after(a["decided_at"], ts)
    t64 = np.datetime64(ts, "ns")
    until = np.where(dec.isna().to_numpy(), t64, dec.to_numpy("datetime64[ns]"))
    decision = a["decision"].astype("str").where(dec.notna(), "pending")
    out = pd.DataFrame(
        {
            "subject_id": a["approval_id"].astype("str"),
            "approval_id": a["approval_id"].astype("str"),
            "customer_id": a["subject_id"].astype("str"),
            "rep_id": a["reviewer_id"].astype("str"),
            "reviewer_id": a["reviewer_id"].astype("str"),
            "step": a["step"].astype("str"),
            "submitted_at": a["submitted_at"],
            "decided_at": dec,
            "decision": decision,
            "hours_waiting": _hours(until, a["submitted_at"]),
            "pending": dec.isna().to_numpy(),
            "resolved_at": dec,
        }
    )
    out["region"] = _region_of(data, out["customer_id"], out["rep_id"])
    return out


def _activity(data: SalesData, ts: pd.Timestamp, within_days: float | None) -> pd.DataFrame:
    cols = ["activity_id", "customer_id", "deal_id", "rep_id", "kind", "channel", "occurred_at"]
    a = data.activities
    extra = [c for c in ("duration_min", "quality") if c in a.columns]
    a = a[[c for c in cols if c in a.columns] + extra]
    keep = _known(a, "occurred_at", ts)
    if within_days is not None:
        # a date comparison, not days as floats over every row (31M at tier L)
        keep = keep & ~(a["occurred_at"] < ts - pd.Timedelta(days=within_days)).to_numpy()
    a = a.loc[keep]
    t64 = np.datetime64(ts, "ns")
    ago = _hours(t64, a["occurred_at"]) / 24.0
    out = pd.DataFrame(
        {
            "subject_id": a["activity_id"].astype("str"),
            "activity_id": a["activity_id"].astype("str"),
            "customer_id": a["customer_id"].astype("str"),
            "deal_id": a["deal_id"].astype("str") if "deal_id" in a else pd.NA,
            "rep_id": a["rep_id"].astype("str"),
            "kind": a["kind"].astype("str"),
            "channel": a["channel"].astype("str") if "channel" in a else pd.NA,
            "occurred_at": a["occurred_at"],
            "duration_min": a["duration_min"].astype("float64") if "duration_min" in a else np.nan,
            "quality": a["quality"].astype("float64") if "quality" in a else np.nan,
            "days_ago": ago,
            "resolved_at": pd.Series(pd.NaT, index=a.index, dtype="datetime64[us]"),
        }
    )
    out["region"] = _region_of(data, out["customer_id"], out["rep_id"])
    return out


def build_subject(
    data: SalesData,
    subject: str,
    *,
    as_of: pd.Timestamp,
    tiers: pd.Series | None = None,
    within_days: float | None = None,
    metrics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The frame follow-up rules on ``subject`` are evaluated on (see the module docstring).

    Parameters
    ----------
    data
        The bundle (not modified).
    subject
        One of :data:`SUBJECTS`.
    as_of
        The instant the frame describes.
    tiers
        Tier per customer id (for ``customer``).
    within_days
        For ``activity``: only activities of the last this many days.
    metrics
        For ``customer``: :func:`~salesml.rules.metrics.customer_metrics` at ``as_of``
        when already computed.

    Raises
    ------
    MissingTableError
        When a table the subject needs is absent.
    """
    if subject not in SUBJECTS:
        raise ValueError(f"unknown subject {subject!r}; choose one of {', '.join(SUBJECTS)}")
    data.require(*SUBJECT_TABLES[subject], analysis=f"follow-up rules on {subject}s")
    if subject == "quote":
        out = _quote(data, as_of)
    elif subject == "contract":
        out = _contract(data, as_of)
    elif subject == "customer":
        out = _customer(data, as_of, tiers, metrics)
    elif subject == "approval":
        out = _approval(data, as_of)
    else:
        out = _activity(data, as_of, within_days)
    return out.reset_index(drop=True)
