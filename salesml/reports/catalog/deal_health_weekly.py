"""``deal_health_weekly``: at-risk deals with reasons and actions, movers, model card."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salesml.data.bundle import SalesData
from salesml.health import WeeklyHealth
from salesml.health.interventions import ACTION_COLUMNS
from salesml.reports.messages import register
from salesml.reports.params import ReportParams
from salesml.reports.registry import ReportSpec

__all__ = ["REPORT", "DealHealthWeeklyParams", "at_risk_rows", "backtest_rows", "review_instant"]


@dataclass(frozen=True)
class DealHealthWeeklyParams(ReportParams):
    """Parameters of ``deal_health_weekly``.

    Parameters
    ----------
    dataset, period, region, lang
        See :class:`~salesml.reports.params.ReportParams`. The review is taken at the
        end of ``period`` (or at the end of the data, if earlier); ``region`` limits the
        deals shown (the model learns from every region).
    horizon_days
        The health score is the calibrated probability of winning within this many days.
    top_n
        Rows of the action list.
    backtest_origins
        Monthly origins of the backtest in the model card (0 skips it).
    """

    horizon_days: int = 90
    top_n: int = 20
    backtest_origins: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_between("horizon_days", 14, 365)
        self._check_between("top_n", 1, 200)
        self._check_between("backtest_origins", 0, 12)


register(
    {
        "deal_health_weekly.title": {"en": "Deal health review", "zh": "商机健康度周报"},
        "deal_health_weekly.actions": {
            "en": "Deals to act on this week",
            "zh": "本周需要干预的商机",
        },
        "deal_health_weekly.actions_note": {
            "en": "Health score = calibrated probability (x100) of winning within {horizon} "
            "days. Escalations: high-value deals whose score fell 10+ points in a week.",
            "zh": "健康分 = {horizon} 天内赢单的校准概率 (x100)。升级：一周内健康分下降 10 分以上的高金额商机。",
        },
        "deal_health_weekly.distribution": {
            "en": "Score distribution by region and rep",
            "zh": "按区域和销售的健康分分布",
        },
        "deal_health_weekly.movers": {
            "en": "Week-over-week movers",
            "zh": "周环比变化最大的商机",
        },
        "deal_health_weekly.card": {"en": "Model card", "zh": "模型卡"},
        "deal_health_weekly.card_note": {
            "en": "Backtest on held-out time against two baselines (historic win rate by "
            "stage; rule signals alone). Lower Brier, log loss and ECE are better.",
            "zh": "在时间外样本上回测，并与两个基线比较（按阶段的历史赢率；仅规则信号）。Brier、对数损失和 ECE 越低越好。",
        },
        "deal_health_weekly.no_backtest": {
            "en": "Not enough closed history for a backtest yet.",
            "zh": "已关闭的历史商机不足，暂无法回测。",
        },
    }
)


def review_instant(data: SalesData, period_end: pd.Timestamp) -> pd.Timestamp:
    """The review instant: the end of the period, or the end of the data if earlier."""
    last = period_end - pd.Timedelta(seconds=1)
    tr = data.time_range
    return min(last, tr[1]) if tr is not None else last


def at_risk_rows(weekly: WeeklyHealth | None, top_n: int) -> pd.DataFrame | None:
    """The action list's first ``top_n`` rows, in display order."""
    if weekly is None:
        return None
    return weekly.actions[list(ACTION_COLUMNS)].head(top_n)


def backtest_rows(weekly: WeeklyHealth | None) -> pd.DataFrame | None:
    """Pooled backtest metrics of the model and both baselines (``None`` if not run)."""
    if weekly is None or weekly.backtest is None:
        return None
    return weekly.backtest.metrics[["model", "auc", "brier", "log_loss", "ece", "n"]]


REPORT = ReportSpec(
    name="deal_health_weekly",
    params=DealHealthWeeklyParams,
    description="At-risk deals with reasons and actions, score distribution, movers, model card.",
    tables=("deals", "stage_history"),
)
