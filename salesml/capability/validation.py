"""Scores against the simulator's planted skills (used by the tests and the benchmark)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from salesml.capability.evidence import SCENARIOS
from salesml.capability.scores import CapabilityResult

__all__ = ["planted_skill", "recovery"]


def planted_skill(result: CapabilityResult, rep_skills: pd.DataFrame, scenario: str) -> pd.Series:
    """The planted skill on the scores' scale, indexed like the scenario's rows.

    Scores compare a rep with the reps of the same region (region difficulty and a
    region's average skill cannot be told apart), on the scale of the reps' spread: so
    the planted skill is centred within each region and divided by its standard
    deviation across the reps.
    """
    rows = result.table[result.table["scenario"] == scenario]
    sk = rep_skills[scenario].reindex(rows["rep_id"].to_numpy()).to_numpy(float)
    region = rows["region"].fillna("unknown").to_numpy(dtype=object)
    centred = sk - pd.Series(sk).groupby(region).transform("mean").to_numpy()
    return pd.Series(centred / np.nanstd(centred, ddof=1), index=rows.index, name="planted")


def recovery(result: CapabilityResult, rep_skills: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: Spearman with the planted skill, interval coverage, and the
    errors of the shrunk and unshrunk estimates in the lowest evidence quartile.

    Columns ``scenario, reps, spearman, coverage, rmse_shrunk, rmse_raw,
    low_q_reps, low_q_evidence, low_q_rmse_shrunk, low_q_rmse_raw``.
    """
    out = []
    for s in SCENARIOS:
        rows = result.table[result.table["scenario"] == s]
        z = planted_skill(result, rep_skills, s)
        ok = z.notna() & rows["raw"].notna()
        r, z = rows[ok], z[ok]
        cover = ((r["lower"] <= z) & (z <= r["upper"])).mean()
        q = r["evidence"] <= r["evidence"].quantile(0.25)
        out.append(
            {
                "scenario": s,
                "reps": int(ok.sum()),
                "spearman": float(stats.spearmanr(r["score"], z)[0]),
                "coverage": float(cover),
                "rmse_shrunk": float(np.sqrt(((r["score"] - z) ** 2).mean())),
                "rmse_raw": float(np.sqrt(((r["raw"] - z) ** 2).mean())),
                "low_q_reps": int(q.sum()),
                "low_q_evidence": float(r.loc[q, "evidence"].median()),
                "low_q_rmse_shrunk": float(np.sqrt(((r.loc[q, "score"] - z[q]) ** 2).mean())),
                "low_q_rmse_raw": float(np.sqrt(((r.loc[q, "raw"] - z[q]) ** 2).mean())),
            }
        )
    return pd.DataFrame(out)
