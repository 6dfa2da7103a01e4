"""Plot style: Chinese labels render, titles state no conclusion, the sBG section on
constant churn says the fit is degenerate."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from crm_lib import plots  # noqa: E402
from crm_lib.churn import fitcheck, sbg  # noqa: E402
from crm_lib.plots import churn as pc  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_chinese_labels_render_without_missing_glyphs(tmp_path):
    plots.apply_style()
    assert plots.cjk_font() is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plots.figure("客户流失 by city", "城市 (city)", "流失率 churn (%)")
        ax.bar(["北京", "上海", "广州", "是", "否"], [3, 2, 1, 2, 1])
        plots.finish(fig)
        fig.savefig(tmp_path / "cjk.png")
        plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    assert (tmp_path / "cjk.png").stat().st_size > 1000


#: Words that make a title a conclusion rather than a description of what is drawn.
CONCLUSION = re.compile(r"\b(rises|falls|increases|decreases|grows|improves|drives|beats|"
                        r"is not|are not|better than|worse than|proves?)\b", re.IGNORECASE)


def test_no_plot_title_hard_codes_a_conclusion():
    titles = []
    for p in sorted((ROOT / "crm_lib" / "plots").glob("*.py")):
        text = p.read_text(encoding="utf-8")
        titles += [(p.name, t) for t in re.findall(r'title: str = "([^"]+)"', text)]
        titles += [(p.name, t) for t in re.findall(r'figure\(f?"([^"]+)"', text)]
    assert len(titles) > 30
    bad = [(f, t) for f, t in titles if CONCLUSION.search(t)]
    assert not bad, bad


def _constant_churn(theta: float = 0.014, n: int = 20000, months: int = 24):
    """Exact geometric counts: theta of the survivors leave every month; the rest censored."""
    alive, periods, churned = float(n), [], []
    for t in range(1, months + 1):
        k = int(round(alive * theta))
        periods += [t] * k
        churned += [True] * k
        alive -= k
    periods += [months] * int(alive)
    churned += [False] * int(alive)
    return np.array(periods), np.array(churned)


def _heterogeneous(n: int = 20000, months: int = 24, seed: int = 3):
    rng = np.random.default_rng(seed)
    t = rng.geometric(rng.beta(0.8, 4.0, n))
    return np.minimum(t, months), t <= months


def test_sbg_section_on_constant_churn_says_degenerate_and_claims_no_trend():
    periods, churned = _constant_churn()
    fit = sbg.fit_sbg(periods, churned)
    check = fitcheck.sbg_check(fit, periods, churned)
    assert check.degenerate and not check.heterogeneity_supported
    text = check.sentence()
    assert "degenerate" in text and "constant churn of 1.40% a month" in text
    assert "rises" not in text
    assert abs(check.constant_churn - 0.014) < 5e-4
    fig = pc.retention_rate(fit.projection(36), check)
    title = fig.axes[0].get_title()
    assert not CONCLUSION.search(title), title
    assert "constant churn" in fig.axes[0].get_legend().get_texts()[0].get_text()
    assert fig.axes[0].yaxis.get_major_formatter().get_offset() == ""  # no 1e-5 offset axis
    plt.close(fig)


def test_sbg_sentence_flips_on_heterogeneous_data():
    periods, churned = _heterogeneous()
    fit = sbg.fit_sbg(periods, churned)
    check = fitcheck.sbg_check(fit, periods, churned)
    assert not check.degenerate and check.heterogeneity_supported
    assert "rises with tenure" in check.sentence() and "degenerate" not in check.sentence()


def test_summary_figures_are_titled_and_small(tmp_path):
    from crm_lib.plots import summary as sp
    monthly = pd.DataFrame({"month": [f"2025-{m:02d}" for m in range(1, 13)],
                            "active_start": 1000, "churned": 14,
                            "rate": np.linspace(0.012, 0.016, 12)})
    curve = pd.DataFrame({"n": np.arange(101), "spend": np.arange(101) * 10.0,
                          "expected_profit": -((np.arange(101) - 40.0) ** 2) + 1600})
    lor = pd.DataFrame({"customer_share": np.linspace(0, 1, 11),
                        "value_share": np.linspace(0, 1, 11) ** 3})
    for fig in (sp.churn_trend(monthly, small=True), sp.concentration(lor),
                sp.profit_curve(curve, optimum_n=40, budget=200.0),
                sp.nps_interval(-11.7, -15.9, -7.6)):
        assert fig.axes[0].get_title() and fig.get_size_inches()[0] <= 6
        plt.close(fig)
