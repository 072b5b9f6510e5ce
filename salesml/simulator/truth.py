"""The planted truth: what the analytics are supposed to recover."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesml.data.schema import DEFAULT_STAGE_ORDER
from salesml.simulator.config import SimulationConfig
from salesml.simulator.expected import expected_channel_cac, shipped_expected_cac
from salesml.simulator.params import (
    CHANNELS,
    COLLECTION_GRACE_DAYS,
    KPI_EFFECTS,
    REGIONS,
    SLA_HOURS,
    WIN_MODEL,
)
from salesml.simulator.state import ChunkOutput
from salesml.simulator.world import World

__all__ = ["Truth", "build_truth"]


@dataclass
class Truth:
    """What the analytics are supposed to recover from a simulated dataset.

    Attributes
    ----------
    rep_skills
        Latent skills by rep (index ``rep_id``; columns technical, commercial, delivery).
    deal_win_prob
        True probability, at creation, that each deal is won (index ``deal_id``).
    stage_pass_prob
        True probability of passing each stage (index ``deal_id``, one column per stage).
    win_model
        Coefficients of the win process (see :mod:`salesml.simulator`).
    stage_conversion
        Expected conversion per region and stage (region, stage, p_true, is_breakpoint).
    breakpoint
        The planted funnel breakpoint: ``{"region": ..., "stage": ...}``.
    lead_loss
        ``unexplained_share`` (lost leads without a reason / lost leads, exact on the
        generated table), ``lost`` and ``reasons`` (counts).
    first_response_hours
        Mean, median and p90 hours from lead creation to first response (responded leads).
    channel_cac
        True CAC by channel *realised in this run* (index channel; acquired_customers,
        acquisition_cost, cac): the true acquisition cost of the channel's customers
        and unconverted leads over the customers acquired, in this dataset.
    channel_expected_cac
        (property) Each channel's *expected, long-run* CAC under the simulator's
        parameters, ``E[cost] / E[acquired]`` over runs of the same configuration
        (see :mod:`salesml.simulator.expected`): the target a bootstrap interval of
        the CAC aims at. Shipped for the presets; computed on first use otherwise.
    customer_acquisition_cost
        True acquisition cost per customer (index ``customer_id``).
    go_live, kpi_effects
        Go-live timestamp and the relative change of each KPI after it (with the
        opt-in ``scan_loss_effect=x``, ``"loss_rate": x``: the material loss rate at the
        scan rollout, :mod:`salesml.simulator.scan_effect`).
    region_go_live
        With ``staggered_go_live=True`` only: region -> go-live date (``YYYY-MM-DD``);
        each KPI effect applies from the go-live of the region of the lead, deal or
        request (empty otherwise: everything goes live at :attr:`go_live`).
    kpi_season
        With ``kpi_seasonality=True`` only: the planted Chinese New Year slowdown of
        response times (``holiday``, ``rebound`` factors minus 1, the KPI effect keys it
        applies to); empty otherwise.
    anomalous_stores
        Stores with planted anomalies (store_id, kind, cost_ratio, since).
    sla_hours, sla_breaches
        Approval SLA and the approval ids that breach it.
    unanswered_quotes
        Quote ids viewed and not answered within 48 hours (as of the end).
    unpaid_contracts
        Contract ids on the collection list at the end: signed, their payment due date
        (``signed_at + payment_terms_days``) passed by :attr:`collection_grace_days`, and
        not paid in full by :attr:`end`. At another date: :meth:`unpaid_contracts_at`.
        (Before this definition the field listed the contracts planted never to be
        paid; they are ``contract_collection["never_paid"]``.)
    contract_collection
        Each contract's planted payment schedule (index ``contract_id``): ``signed_at``,
        ``due_at``, ``amount``, ``paid_in_full_at`` (the planted time of the last
        instalment, possibly after :attr:`end`; NaT if never paid) and ``never_paid``
        (planted never to be paid, about 7%). Empty in truths saved by older versions.
    collection_grace_days
        The grace days of :attr:`unpaid_contracts` (7).
    lead_quality
        Opt-in (``simulate(..., lead_quality=True)``): each lead's latent ``quality`` and
        true probability ``p_convert`` of converting, at creation (index ``lead_id``;
        empty otherwise). See :mod:`salesml.simulator.lead_quality`.
    faults
        Dirty mode only: injected faults (table, row, column, fault, rule, value).
    encoding
        Encoding a dirty dataset is meant to be written in (``gb18030``).
    end
        First instant after the simulated window.
    config
        The :class:`~salesml.simulator.config.SimulationConfig` fields of the run.
    """

    rep_skills: pd.DataFrame
    deal_win_prob: pd.Series
    stage_pass_prob: pd.DataFrame
    win_model: dict[str, Any]
    stage_conversion: pd.DataFrame
    breakpoint: dict[str, str]
    lead_loss: dict[str, Any]
    first_response_hours: dict[str, float]
    channel_cac: pd.DataFrame
    customer_acquisition_cost: pd.Series
    go_live: pd.Timestamp
    kpi_effects: dict[str, float]
    anomalous_stores: pd.DataFrame
    sla_hours: float
    sla_breaches: pd.Index
    unanswered_quotes: pd.Index
    unpaid_contracts: pd.Index
    end: pd.Timestamp
    faults: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["table", "row", "column", "fault", "rule", "value"]
        )
    )
    encoding: str = "utf-8"
    lead_quality: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"quality": pd.Series(dtype="float64"), "p_convert": pd.Series(dtype="float64")},
            index=pd.Index([], name="lead_id", dtype="str"),
        )
    )
    seed: int = 0
    preset: str = "demo"
    config: dict[str, Any] = field(default_factory=dict)
    region_go_live: dict[str, str] = field(default_factory=dict)
    kpi_season: dict[str, Any] = field(default_factory=dict)
    contract_collection: pd.DataFrame = field(default_factory=lambda: _empty_collection())
    collection_grace_days: float = COLLECTION_GRACE_DAYS
    # backing value of :attr:`channel_expected_cac` (None until known)
    _channel_expected_cac: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def channel_expected_cac(self) -> pd.DataFrame:
        """Each channel's expected (long-run) CAC for this run's configuration.

        ``E[C] / E[A]`` where ``C`` is the channel's true acquisition cost in one run
        (as in :attr:`channel_cac`) and ``A`` its acquired customers, the expectations
        over every random draw of the simulator for this configuration (over seeds);
        see :func:`salesml.simulator.expected.expected_channel_cac`. Index
        ``channel``; columns ``acquired_per_run``, ``acquisition_cost_per_run``,
        ``cac``, ``cac_mc_se`` (Monte-Carlo standard error).

        Raises
        ------
        ValueError
            When the truth does not know its configuration (saved by an older version).
        """
        if self._channel_expected_cac is None:
            if not self.config:
                raise ValueError(
                    "this truth does not record its simulation configuration "
                    "(saved by an older salesml); regenerate the dataset"
                )
            self._channel_expected_cac = expected_channel_cac(SimulationConfig(**self.config))
        return self._channel_expected_cac

    def unpaid_contracts_at(self, as_of: object, *, grace_days: float | None = None) -> pd.Index:
        """The contracts on the collection list at ``as_of``.

        A contract is on it when it is signed by ``as_of``, its payment due date passed
        by ``grace_days`` (default :attr:`collection_grace_days`) at or before ``as_of``,
        and it is not paid in full by ``as_of`` (its planted last instalment is later,
        or it is never paid). At :attr:`end` with the default grace this is
        :attr:`unpaid_contracts`.

        Raises
        ------
        ValueError
            When the truth has no payment schedule (saved by an older salesml).
        """
        k = self.contract_collection
        if k.empty and len(self.unpaid_contracts):
            raise ValueError(
                "this truth has no contract payment schedule (saved by an older salesml); "
                "regenerate the dataset"
            )
        grace = self.collection_grace_days if grace_days is None else float(grace_days)
        return _unpaid_at(k, pd.Timestamp(as_of), grace)  # type: ignore[arg-type]

    def win_prob_at(self, deals: pd.DataFrame, stage_order: list[str] | None = None) -> pd.Series:
        """True win probability of each deal given its current ``stage``.

        Parameters
        ----------
        deals
            Frame with ``deal_id`` and ``stage`` (for example ``data.as_of(ts).deals``).
        stage_order
            Stage order (default: the simulator's).

        Returns
        -------
        pandas.Series
            Product of the deal's pass probabilities from its current stage on,
            indexed like ``deals``.
        """
        order = list(stage_order or DEFAULT_STAGE_ORDER)
        p = self.stage_pass_prob.reindex(deals["deal_id"].to_numpy()).to_numpy()
        k = deals["stage"].map({s: i for i, s in enumerate(order)}).to_numpy(dtype=float)
        cols = np.arange(p.shape[1])[None, :]
        mask = cols >= k[:, None]
        out = np.where(mask, p, 1.0).prod(axis=1)
        out[np.isnan(k)] = np.nan
        return pd.Series(out, index=deals.index, name="true_win_prob")

    def save(self, path: str | Path) -> Path:
        """Write the truth into folder ``path`` (Parquet tables + ``truth.json``)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, pd.DataFrame):
                v.to_parquet(folder / f"{f.name}.parquet")
                meta[f.name] = {"kind": "frame"}
            elif isinstance(v, pd.Series):
                v.to_frame(v.name or f.name).to_parquet(folder / f"{f.name}.parquet")
                meta[f.name] = {"kind": "series", "name": v.name}
            elif isinstance(v, pd.Index):
                meta[f.name] = {"kind": "index", "value": [str(x) for x in v]}
            elif isinstance(v, pd.Timestamp):
                meta[f.name] = {"kind": "timestamp", "value": v.isoformat()}
            else:
                meta[f.name] = {"kind": "plain", "value": v}
        (folder / "truth.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=float), encoding="utf-8"
        )
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        """Read a truth written by :meth:`save`."""
        folder = Path(path)
        meta = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        kwargs: dict[str, Any] = {}
        for name, m in meta.items():
            kind = m["kind"]
            if kind == "frame":
                kwargs[name] = pd.read_parquet(folder / f"{name}.parquet")
            elif kind == "series":
                df = pd.read_parquet(folder / f"{name}.parquet")
                kwargs[name] = df.iloc[:, 0].rename(m["name"])
            elif kind == "index":
                kwargs[name] = pd.Index(m["value"], dtype="str")
            elif kind == "timestamp":
                kwargs[name] = pd.Timestamp(m["value"])
            else:
                kwargs[name] = m["value"]
        return cls(**kwargs)

    def _repr_html_(self) -> str:
        rows = [
            ("planted breakpoint", f"{self.breakpoint['region']} · {self.breakpoint['stage']}"),
            ("unexplained lead-loss share", f"{self.lead_loss['unexplained_share']:.3f}"),
            ("go-live", f"{self.go_live:%Y-%m-%d}"),
            ("anomalous stores", ", ".join(self.anomalous_stores["store_id"].astype(str))),
            ("SLA breaches", f"{len(self.sla_breaches):,}"),
            ("injected faults", f"{len(self.faults):,}"),
        ]
        cac = self.channel_cac.round(1)
        if self._channel_expected_cac is not None:  # never starts a Monte-Carlo
            cac = cac.assign(expected_cac=self._channel_expected_cac["cac"].round(1))
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows
        )
        return (
            f"<div><b>Truth</b> (preset {self.preset}, seed {self.seed})<table>{body}</table>"
            f"{cac.to_html()}</div>"
        )


def build_truth(
    world: World,
    chunks: list[ChunkOutput],
    cfg: SimulationConfig,
    seed: int,
    preset: str,
    go_live: pd.Timestamp,
) -> Truth:
    """Assemble the :class:`Truth` of a simulation from its world and chunk outputs."""
    deal_ids = np.concatenate([c.deal_ids for c in chunks])
    pp = np.concatenate([c.pass_prob for c in chunks])
    stage_pass = pd.DataFrame(
        pp, index=pd.Index(deal_ids, name="deal_id", dtype="str"), columns=list(DEFAULT_STAGE_ORDER)
    )
    win_prob = pd.Series(pp.prod(axis=1), index=stage_pass.index, name="true_win_prob")
    region = np.concatenate([c.deal_region for c in chunks])
    reached = np.concatenate([c.reached for c in chunks])
    rows = []
    bp = WIN_MODEL["breakpoint"]
    for r, rname in enumerate(REGIONS):
        for k, sname in enumerate(DEFAULT_STAGE_ORDER):
            m = (region == r) & reached[:, k]
            rows.append(
                {
                    "region": rname,
                    "stage": sname,
                    "p_true": float(pp[m, k].mean()) if m.any() else np.nan,
                    "n_reached": int(m.sum()),
                    "is_breakpoint": rname == bp["region"] and sname == bp["stage"],
                }
            )
    stage_conv = pd.DataFrame(rows)

    lost = sum(c.lost_leads for c in chunks)
    no_reason = sum(c.lost_no_reason for c in chunks)
    reasons: dict[str, int] = {}
    for c in chunks:
        for k, v in c.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    rh = np.concatenate([c.response_hours for c in chunks])

    # true CAC
    acq = np.concatenate([c.cust_acq for c in chunks])
    cust_ids = np.concatenate([c.cust_ids for c in chunks])
    cust_ch = np.concatenate([c.cust_channel for c in chunks])
    cust_cost = np.concatenate([c.cust_cost for c in chunks])
    ch_cost = pd.Series(np.sum([c.channel_cost for c in chunks], axis=0))
    acquired = pd.Series(~np.isnan(acq)).groupby(cust_ch).sum()
    ch_rows = []
    for i, ch in enumerate(CHANNELS):
        a = int(acquired.get(i, 0))
        cost = float(ch_cost.get(i, 0.0))
        ch_rows.append(
            {
                "channel": ch,
                "acquired_customers": a,
                "acquisition_cost": cost,
                "cac": cost / a if a else np.nan,
            }
        )
    channel_cac = pd.DataFrame(ch_rows).set_index("channel")
    customer_cost = pd.Series(
        cust_cost,
        index=pd.Index(cust_ids, name="customer_id", dtype="str"),
        name="true_acquisition_cost",
    )

    anomaly_ratio = float(np.nanmean([c.anomaly_cost_ratio for c in chunks]))
    since = pd.Timestamp(world.t0) + pd.Timedelta(days=world.anomaly_since)
    anomalous = pd.DataFrame(
        {
            "store_id": [world.stores["store_id"].iloc[world.anomalous_store]],
            "kind": ["unscanned_redemptions"],
            "cost_ratio": [anomaly_ratio],
            "since": [since],
        }
    )
    skills = pd.DataFrame(
        world.skills,
        columns=["technical", "commercial", "delivery"],
        index=pd.Index(world.reps["rep_id"].astype("str"), name="rep_id"),
    )
    end = pd.Timestamp(world.t0) + pd.Timedelta(days=world.n_days)
    collection = _contract_collection(chunks)
    return Truth(
        rep_skills=skills,
        deal_win_prob=win_prob,
        stage_pass_prob=stage_pass,
        win_model=json.loads(json.dumps(WIN_MODEL)),
        stage_conversion=stage_conv,
        breakpoint={"region": bp["region"], "stage": bp["stage"]},
        lead_loss={
            "lost": int(lost),
            "unexplained": int(no_reason),
            "unexplained_share": no_reason / lost if lost else float("nan"),
            "reasons": reasons,
        },
        first_response_hours={
            "mean": float(rh.mean()),
            "median": float(np.median(rh)),
            "p90": float(np.quantile(rh, 0.9)),
        },
        channel_cac=channel_cac,
        customer_acquisition_cost=customer_cost,
        go_live=go_live,
        kpi_effects=dict(KPI_EFFECTS)
        | ({} if cfg.scan_loss_effect is None else {"loss_rate": float(cfg.scan_loss_effect)}),
        anomalous_stores=anomalous,
        sla_hours=SLA_HOURS,
        sla_breaches=pd.Index(np.concatenate([c.sla_breach_ids for c in chunks]), dtype="str"),
        unanswered_quotes=pd.Index(
            np.concatenate([c.unanswered_quote_ids for c in chunks]), dtype="str"
        ),
        unpaid_contracts=_unpaid_at(collection, end, COLLECTION_GRACE_DAYS),
        contract_collection=collection,
        end=end,
        seed=seed,
        preset=preset,
        config=cfg.to_dict(),
        region_go_live=_region_go_live(world),
        kpi_season=_kpi_season(cfg),
        _channel_expected_cac=shipped_expected_cac(cfg),
        **_lead_quality(chunks),
    )


def _region_go_live(world: World) -> dict[str, str]:
    """Region -> go-live date of a staggered rollout (empty when not staggered)."""
    if world.region_go_live is None:
        return {}
    t0 = pd.Timestamp(world.t0)
    return {
        r: f"{t0 + pd.Timedelta(days=float(d)):%Y-%m-%d}"
        for r, d in zip(REGIONS, world.region_go_live, strict=True)
    }


def _kpi_season(cfg: SimulationConfig) -> dict[str, Any]:
    """The planted response-time seasonality (empty when off)."""
    if not cfg.kpi_seasonality:
        return {}
    from salesml.simulator.rollout import SEASON_HOLIDAY, SEASON_REBOUND

    return {
        "holiday": SEASON_HOLIDAY,
        "rebound": SEASON_REBOUND,
        "applies_to": ["first_response_hours", "collab_response_hours"],
    }


def _empty_collection() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "signed_at": pd.Series(dtype="datetime64[us]"),
            "due_at": pd.Series(dtype="datetime64[us]"),
            "amount": pd.Series(dtype="float64"),
            "paid_in_full_at": pd.Series(dtype="datetime64[us]"),
            "never_paid": pd.Series(dtype="bool"),
        },
        index=pd.Index([], name="contract_id", dtype="str"),
    )


def _contract_collection(chunks: list[ChunkOutput]) -> pd.DataFrame:
    parts = [c.contract_collection for c in chunks if c.contract_collection is not None]
    return pd.concat(parts) if parts else _empty_collection()


def _unpaid_at(collection: pd.DataFrame, t: pd.Timestamp, grace_days: float) -> pd.Index:
    k = collection
    paid = k["paid_in_full_at"].notna() & (k["paid_in_full_at"] <= t)
    on = (k["signed_at"] <= t) & (k["due_at"] + pd.Timedelta(days=grace_days) <= t) & ~paid
    return pd.Index(k.index[on.to_numpy()], dtype="str")


def _lead_quality(chunks: list[ChunkOutput]) -> dict[str, pd.DataFrame]:
    parts = [c.lead_quality for c in chunks if c.lead_quality is not None]
    return {"lead_quality": pd.concat(parts)} if parts else {}
