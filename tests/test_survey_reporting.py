"""Survey claims the data support: zones only for a detectable bend, importance-performance
priorities only beyond their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_lib import survey
from crm_lib.survey import drivers, loyalty


def test_zones_are_drawn_only_when_the_curve_bends():
    rng = np.random.default_rng(0)
    x = pd.Series(rng.uniform(0, 100, 4000))
    linear = pd.Series(rng.random(4000) < 1 / (1 + np.exp(-(-1.0 - 0.02 * x))))
    bent = pd.Series(rng.random(4000) < np.where(x < 35, 0.45, 0.08))
    c_lin, c_bent = loyalty.response_curve(x, linear), loyalty.response_curve(x, bent)
    assert not loyalty.zones_supported(c_lin) and loyalty.zones_supported(c_bent)
    assert "do not support zones" in loyalty.zones_sentence(c_lin)
    assert "zones of defection" in loyalty.zones_sentence(c_bent)


def test_priorities_only_for_differences_beyond_their_intervals():
    idx = pd.Index(["quality", "value", "image", "expectations"], name="driver")
    imp = pd.DataFrame({"weight": [0.20, 0.18, 0.05, 0.03], "ci_low": [0.17, 0.15, 0.03, 0.01],
                        "ci_high": [0.23, 0.21, 0.07, 0.05]}, index=idx)
    imp["share"] = imp["weight"] / imp["weight"].sum()
    # performance: all four within 0.5 points of each other, intervals of +-1 point
    perf = pd.DataFrame({"performance": [50.6, 50.9, 50.5, 51.0]}, index=idx)
    perf["perf_ci_low"], perf["perf_ci_high"] = perf["performance"] - 1, perf["performance"] + 1
    ipm = drivers.importance_performance(imp, perf).to_frame()
    assert (ipm["quadrant"] == drivers.UNCLEAR).all()  # performance differences are noise
    perf2 = perf.assign(performance=[40.0, 70.0, 45.0, 72.0])
    perf2["perf_ci_low"], perf2["perf_ci_high"] = perf2["performance"] - 1, perf2[
        "performance"] + 1
    ipm2 = survey.importance_performance(imp, perf2).to_frame()
    assert ipm2.loc["quality", "quadrant"] == "Concentrate here"
    assert ipm2.loc["value", "quadrant"] == "Keep up the good work"
    assert ipm2.loc["image", "quadrant"] == "Low priority"
    # a plain Series keeps the old behaviour (no intervals: the point decides)
    assert drivers.importance_performance(imp["share"], perf2["performance"]).table[
        "quadrant"].ne(drivers.UNCLEAR).all()


def test_without_a_bend_the_chart_draws_the_linear_fit_and_says_so():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crm_lib.plots import survey as splots
    rng = np.random.default_rng(0)
    x = pd.Series(rng.uniform(0, 100, 3000))
    y = pd.Series(rng.random(3000) < 1 / (1 + np.exp(-(-1.0 - 0.02 * x))))
    c = loyalty.response_curve(x, y)
    fig = splots.response_curve_chart(c, "Churn by satisfaction", "satisfaction (0-100)",
                                      "churned (%)", None, linear=not loyalty.zones_supported(c))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "linear logistic fit (no bend detected)" in labels
    assert not any("zone" in t for t in labels)
    plt.close(fig)


def test_nps_difference_reads_as_a_sentence_that_flips_with_its_interval():
    from crm_lib.survey.nps import NPSDifference
    clear = NPSDifference("churned", "stayed", -12.3, 4.0, -20.1, -4.5, -3.1, 0.0019)
    unclear = NPSDifference("churned", "stayed", -2.3, 4.0, -10.1, 5.5, -0.6, 0.52)
    assert "stayed group's NPS is higher" in clear._repr_markdown_()
    assert "cannot tell the groups apart" in str(unclear) and "NPSDifference(" not in str(unclear)
