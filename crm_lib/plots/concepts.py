"""Figures of notebook 00 (CRM concepts), each driven only by its parameters.

Every ``*_figure`` function takes plain numbers, runs the simulation of
:mod:`crm_lib.concepts` and returns a titled, labelled ``Figure``; so the
same function serves a static figure in batch and an ipywidgets slider in
JupyterLab (:func:`explore`). Figures are closed after drawing and returned,
so a notebook cell shows each exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np

from .. import concepts as cc
from . import COLORS, PALETTE, figure, finish, label


def _done(fig):
    finish(fig)
    plt.close(fig)
    return fig


def leaky_bucket(lb: cc.LeakyBucket, n_show: int = 20):
    """Simulated customer counts over time, their expectation and the steady state."""
    fig, ax = figure(f"Leaky bucket: {lb.acquisitions:,.0f} new customers a month, "
                     f"{lb.churn_rate:.1%} churn a month",
                     "month", "active customers (count)")
    show = lb.paths.iloc[:, :n_show]
    ax.plot(show.index, show.to_numpy(), color=COLORS["neutral"], lw=0.6, alpha=0.5)
    ax.plot([], [], color=COLORS["neutral"], lw=0.6, label=f"{show.shape[1]} simulated paths")
    ax.plot(lb.expected.index, lb.expected.to_numpy(), color=COLORS["primary"], lw=2,
            label="expected path")
    ax.axhline(lb.steady_state_theory, color=COLORS["accent"], ls="--", lw=1.5,
               label=f"steady state = acquisitions / churn = {lb.steady_state_theory:,.0f}")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    return _done(fig)


def leaky_bucket_figure(acquisitions: float = 500.0, churn_rate: float = 0.04,
                        initial: int = 2000, months: int = 120, n_paths: int = 200,
                        seed: int = 42):
    """Simulate and draw a leaky bucket (slider-friendly; same draws as the simulation)."""
    return leaky_bucket(cc.simulate_leaky_bucket(acquisitions, churn_rate, int(initial),
                                                 int(months), n_paths=int(n_paths), seed=seed))


def budget_curve(table, scenario: cc.BudgetScenario, acquisition_heavy: float = 0.2,
                 retention_heavy: float = 0.8):
    """Incremental profit of each budget split, with its 90% simulation band."""
    fig, ax = figure(f"Where should {scenario.budget:,.0f} a month go? "
                     f"(acquiring costs {scenario.cost_ratio:.1f}x keeping)",
                     "share of the budget spent on retention (%)",
                     f"profit over {scenario.months} months vs no spending (currency)")
    x = table["retention_share"] * 100
    base = table["profit_mean"] - table["incremental_profit"]
    ax.fill_between(x, table["profit_p05"] - base, table["profit_p95"] - base,
                    color=COLORS["primary"], alpha=0.15, label="90% of simulated firms")
    ax.plot(x, table["incremental_profit"], color=COLORS["primary"], lw=2, label="mean")
    cmp = cc.compare_budgets(table, acquisition_heavy, retention_heavy)
    t = table.set_index("retention_share")["incremental_profit"]
    for share, name, col in ((acquisition_heavy, "acquisition-heavy", COLORS["accent"]),
                             (retention_heavy, "retention-heavy", COLORS["good"])):
        y = t[t.index[np.isclose(t.index, share)][0]]
        ax.scatter([share * 100], [y], color=col, zorder=3, s=50, label=name)
    ax.axvline(cmp["best_retention_share"] * 100, color=COLORS["warn"], ls=":",
               label=f"best split: {cmp['best_retention_share']:.0%} on retention")
    ax.axhline(0, color=COLORS["truth"], lw=0.8)
    ax.legend(loc="lower right", fontsize=8)
    return _done(fig)


def budget_figure(budget: float = 40_000.0, cost_ratio: float = 5.0,
                  preventable_share: float = 0.6, margin: float = 25.0,
                  churn_rate: float = 0.04, acquisition_cost: float = 250.0,
                  n_paths: int = 100, seed: int = 42):
    """Simulate and draw the budget split (slider-friendly; same draws as the simulation)."""
    sc = cc.BudgetScenario.from_ratio(budget=budget, margin=margin, churn_rate=churn_rate,
                                      preventable_share=preventable_share,
                                      acquisition_cost=acquisition_cost, cost_ratio=cost_ratio)
    return budget_curve(cc.simulate_budget(sc, n_paths=int(n_paths), seed=seed), sc)


def clv_curves(margins=(50.0, 100.0, 200.0), discount_rate: float = 0.10,
               margin_growth: float = 0.05, delta: float = 0.05):
    """CLV against retention for several margins, and the value of +``delta`` retention."""
    fig, (a1, a2) = figure("Customer lifetime value and the value of retention",
                           "", "", ncols=2, figsize=(11, 4.2))
    r = np.linspace(0.40, 0.95, 56)
    for i, m in enumerate(margins):
        a1.plot(r * 100, cc.clv(m, r, discount_rate), color=PALETTE[i],
                label=f"margin {m:,.0f} a year")
    label(a1, f"CLV = m r / (1 + d - r), discount {discount_rate:.0%}",
          "annual retention rate (%)", "customer lifetime value (currency)")
    a1.legend()
    r2 = np.linspace(0.40, min(0.90, (1 + discount_rate) / (1 + margin_growth) - delta - 0.01), 51)
    a2.plot(r2 * 100, cc.retention_lift(r2, delta, discount_rate) * 100,
            color=COLORS["primary"], label="constant margin")
    a2.plot(r2 * 100, cc.retention_lift(r2, delta, discount_rate, margin_growth) * 100,
            color=COLORS["accent"], label=f"margin grows {margin_growth:.0%} a year of tenure")
    a2.axhspan(25, 85, color=COLORS["neutral"], alpha=0.15,
               label="range claimed by Reichheld & Sasser (1990)")
    label(a2, f"CLV gain from {delta * 100:.0f} more points of retention",
          "annual retention rate before (%)", "increase in CLV (%)")
    a2.legend(fontsize=8)
    return _done(fig)


def lorenz_plot(values, top: float = 0.2):
    """Lorenz curve of simulated customer values with the 80/20 reference point."""
    lz = cc.lorenz(values)
    g, share = cc.gini(values), cc.top_share(values, top)
    fig, ax = figure(f"Value concentration: top {top:.0%} of customers hold {share:.0%} "
                     f"(Gini {g:.2f})",
                     "customers, least to most valuable (cumulative %)",
                     "value (cumulative %)")
    ax.plot(lz["customer_share"] * 100, lz["value_share"] * 100, color=COLORS["primary"],
            lw=2, label="Lorenz curve")
    ax.plot([0, 100], [0, 100], color=COLORS["neutral"], ls="--", label="perfect equality")
    ax.scatter([80], [20], color=COLORS["accent"], zorder=3,
               label="the 80/20 claim: bottom 80% hold 20%")
    ax.scatter([(1 - top) * 100], [(1 - share) * 100], color=COLORS["good"], zorder=3,
               label=f"this base: bottom {1 - top:.0%} hold {1 - share:.0%}")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    return _done(fig)


def lorenz_figure(sigma: float = 1.2, n: int = 10_000, seed: int = 42):
    """Simulate values and draw their Lorenz curve (slider-friendly)."""
    return lorenz_plot(cc.simulate_values(int(n), sigma, seed=seed))


def zones_plot(zs: cc.ZoneSimulation):
    """Retention by satisfaction score with 95% intervals, true curves and the three zones."""
    z = zs.zones
    fig, ax = figure("Satisfaction and loyalty: zones of defection, indifference, affection",
                     "satisfaction score (1-10)", "customers retained (%)")
    ax.axvspan(1, z.defection_upper, color=COLORS["accent"], alpha=0.08)
    ax.axvspan(z.affection_lower, 10, color=COLORS["good"], alpha=0.08)
    for x, text in ((1 + (z.defection_upper - 1) / 2, "defection"),
                    ((z.defection_upper + z.affection_lower) / 2, "indifference"),
                    ((z.affection_lower + 10) / 2, "affection")):
        ax.text(x, 3, text, ha="center", fontsize=9, color=COLORS["truth"])
    s = np.linspace(1, 10, 91)
    for grp, col, name in (("low", COLORS["primary"], "low switching costs"),
                           ("high", COLORS["warn"], "high switching costs (locked in)")):
        d = zs.by_score[zs.by_score["switching_cost"] == grp]
        ax.errorbar(d["satisfaction"], d["retention"] * 100,
                    yerr=[(d["retention"] - d["ci_low"]) * 100, (d["ci_high"] - d["retention"]) * 100],
                    fmt="o", color=col, capsize=2, label=f"{name}: simulated, 95% CI")
        ax.plot(s, cc.zone_retention(s, z, grp == "high") * 100, color=col, lw=1.2, ls="--")
    ax.plot([], [], color=COLORS["neutral"], ls="--", label="true curve")
    ax.set_ylim(0, 100)
    ax.set_xlim(0.5, 10.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, fontsize=8)
    return _done(fig)


def zones_figure(defection_upper: float = 5.0, affection_lower: float = 8.5,
                 lock_in: float = 0.6, mean_satisfaction: float = 7.0, seed: int = 42):
    """Simulate and draw the satisfaction-loyalty zones (slider-friendly)."""
    zones = cc.Zones(defection_upper=defection_upper, affection_lower=affection_lower,
                     lock_in=lock_in)
    return zones_plot(cc.simulate_zones(zones=zones, mean_satisfaction=mean_satisfaction,
                                        seed=seed))


def explore(draw: Callable, interactive: bool, fixed: dict | None = None, **sliders):
    """Show ``draw(**defaults)`` as a static figure, or with ipywidgets sliders.

    ``sliders`` maps each argument of ``draw`` to ``(default, min, max, step)``;
    ``fixed`` holds arguments without a slider (seed, number of paths).
    In batch (``interactive=False``: the runner, papermill, tests) the figure is
    drawn once with the defaults and returned, so no widget state is needed.
    Interactively, sliders redraw the figure when released.
    """
    fixed = dict(fixed or {})
    defaults = {k: v[0] for k, v in sliders.items()}
    if not interactive:
        return draw(**defaults, **fixed)
    import ipywidgets as w
    from IPython.display import display

    controls = {}
    for k, (default, lo, hi, step) in sliders.items():
        cls = w.IntSlider if all(isinstance(v, int) for v in (default, lo, hi, step)) \
            else w.FloatSlider
        controls[k] = cls(value=default, min=lo, max=hi, step=step, description=k,
                          continuous_update=False, style={"description_width": "initial"})
    display(w.interactive(draw, **controls, **{k: w.fixed(v) for k, v in fixed.items()}))
    return None


def is_interactive(run_dir: str, sliders: bool = True) -> bool:
    """Whether to show sliders: asked for, not a batch run (no run_dir), inside a kernel."""
    if not sliders or run_dir:
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None
