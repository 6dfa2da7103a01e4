"""Figures of notebook 05 (retention ROI). Every function returns a finished Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import COLORS, PALETTE, figure, finish

__all__ = ["empc_curve", "profit_curve", "break_even", "balance", "qini", "policies",
           "response_groups", "budget_curve", "monte_carlo", "retention_lift",
           "acquisition_vs_retention", "word_of_mouth"]


def empc_curve(curve: pd.DataFrame, perfect: pd.DataFrame, *, empc_fraction: float,
               title: str = "Expected profit of a churn campaign by targeting depth"):
    """Profit per customer vs fraction targeted (mean acceptance, band = 5-95% of the
    acceptance distribution), with the perfect model and the EMPC-optimal fraction."""
    fig, ax = figure(title, "share of customers targeted (%)", "profit per customer (currency)")
    x = 100 * curve["fraction"]
    ax.fill_between(x, curve["profit_low"], curve["profit_high"], color=COLORS["primary"],
                    alpha=0.2, label="acceptance 5-95% range")
    ax.plot(x, curve["profit"], color=COLORS["primary"], label="churn model")
    ax.plot(100 * perfect["fraction"], perfect["profit"], color=COLORS["truth"], ls="--",
            lw=1, label="perfect model")
    ax.axvline(100 * empc_fraction, color=COLORS["accent"], ls=":",
               label=f"EMPC fraction {empc_fraction:.0%}")
    ax.axhline(0, color=COLORS["neutral"], lw=0.8)
    ax.legend()
    return finish(fig)


def profit_curve(curve: pd.DataFrame, *, best_n: int, title: str = "Campaign profit by depth"):
    """Cumulative expected profit (and realised, when present) vs customers contacted."""
    fig, ax = figure(title, "customers contacted (count)", "cumulative profit (currency)")
    ax.plot(curve["n"], curve["expected_profit"], color=COLORS["primary"], label="expected")
    if "realised_profit" in curve:
        ax.plot(curve["n"], curve["realised_profit"], color=COLORS["good"], label="realised")
    ax.axvline(best_n, color=COLORS["accent"], ls=":", label=f"optimal depth {best_n:,}")
    ax.axhline(0, color=COLORS["neutral"], lw=0.8)
    ax.legend()
    return finish(fig)


def break_even(table: pd.DataFrame, *, offer_cost: float,
               title: str = "Break-even offer cost by targeting depth"):
    """The highest offer cost that still breaks even, for each depth."""
    fig, ax = figure(title, "share of active customers contacted (%)",
                     "break-even offer cost (currency)")
    ax.plot(100 * table["fraction"], table["break_even_offer_cost"], color=COLORS["primary"])
    ax.axhline(offer_cost, color=COLORS["accent"], ls="--", label=f"offer cost {offer_cost:g}")
    ax.legend()
    return finish(fig)


def balance(report, *, top: int = 15, threshold: float = 0.1,
            title: str = "Covariate balance between treated and control"):
    """Standardised mean differences (a 'love plot'), largest first."""
    tab = report.table.head(top).iloc[::-1]
    fig, ax = figure(title, "standardised mean difference (SD units)", "covariate")
    colors = np.where(tab["smd"].abs() > threshold, COLORS["accent"], COLORS["primary"])
    ax.barh(tab["covariate"], tab["smd"], color=colors)
    for s in (-threshold, threshold):
        ax.axvline(s, color=COLORS["neutral"], ls="--", lw=0.8)
    return finish(fig)


def qini(curves: dict[str, pd.DataFrame], *, title: str = "Qini curves (out-of-fold)"):
    """Qini curve per ranking and the random line."""
    fig, ax = figure(title, "share of pilot customers targeted (%)",
                     "extra customers retained per pilot customer")
    for (name, c), col in zip(curves.items(), PALETTE, strict=False):
        ax.plot(100 * c["fraction"], c["qini"], color=col, label=name.replace("_", " "))
    first = next(iter(curves.values()))
    ax.plot(100 * first["fraction"], first["random"], color=COLORS["neutral"], ls="--",
            label="random")
    ax.legend()
    return finish(fig)


def policies(comparison: pd.DataFrame, *, chosen: str = "",
             title: str = "Pilot-measured profit of targeting by each ranking"):
    """Estimated incremental profit per pilot customer vs depth, with intervals."""
    fig, ax = figure(title, "share of pilot customers contacted (%)",
                     "profit per pilot customer (currency)")
    for (name, g), col in zip(comparison.groupby("policy", sort=False), PALETTE, strict=False):
        lw = 2.5 if name == chosen else 1.2
        ax.plot(100 * g["fraction"], g["profit"], color=col, lw=lw,
                label=name.replace("_", " ") + (" (chosen)" if name == chosen else ""))
        ax.fill_between(100 * g["fraction"], g["profit_low"], g["profit_high"], color=col,
                        alpha=0.08)
    ax.axhline(0, color=COLORS["neutral"], lw=0.8)
    ax.legend()
    return finish(fig)


def response_groups(shares: pd.Series, *, truth: pd.Series | None = None,
                    title: str = "The four response groups"):
    """Estimated share of customers per response group (and a reference if given)."""
    fig, ax = figure(title, "response group", "share of pilot customers (%)")
    x = np.arange(len(shares))
    ax.bar(x - (0.2 if truth is not None else 0), 100 * shares.to_numpy(), width=0.4,
           color=COLORS["primary"], label="estimated")
    if truth is not None:
        ax.bar(x + 0.2, 100 * truth.reindex(shares.index).to_numpy(), width=0.4,
               color=COLORS["truth"], label="reference")
        ax.legend()
    ax.set_xticks(x, [s.replace("_", " ") for s in shares.index])
    return finish(fig)


def budget_curve(plan: pd.DataFrame, *, budget: float,
                 title: str = "Expected profit against spend, best customers first"):
    """Cumulative expected incremental profit vs cumulative spend (ratio order)."""
    ok = plan[plan["expected_incremental_profit"] > 0]
    ok = ok.assign(r=ok["expected_incremental_profit"] / ok["cost"]).sort_values(
        "r", ascending=False)
    fig, ax = figure(title, "cumulative spend (currency)",
                     "cumulative expected profit (currency)")
    ax.plot(np.r_[0, ok["cost"].cumsum()], np.r_[0, ok["expected_incremental_profit"].cumsum()],
            color=COLORS["primary"], label="positive-profit customers")
    ax.axvline(budget, color=COLORS["accent"], ls="--", label=f"budget {budget:,.0f}")
    ax.legend()
    return finish(fig)


def monte_carlo(mc, *, title: str = "Campaign profit over parameter uncertainty"):
    """Histogram of simulated campaign profit with the loss region marked."""
    fig, ax = figure(title, "campaign profit (currency)", "simulations (count)")
    prof = mc.draws["profit"]
    ax.hist(prof, bins=60, color=COLORS["primary"], alpha=0.8)
    ax.axvline(0, color=COLORS["accent"], ls="--", label=f"P(loss) = {mc.prob_loss:.0%}")
    ax.axvline(mc.expected_profit, color=COLORS["truth"], lw=1,
               label=f"mean {mc.expected_profit:,.0f}")
    ax.legend()
    return finish(fig)


def retention_lift(grid: pd.DataFrame, *, point: tuple[float, float] | None = None,
                   claimed: tuple[float, float] = (0.25, 0.85), ymax: float = 3.0,
                   title: str = "Profit effect of +5 points retention (sensitivity)"):
    """Relative profit lift vs base retention: one line per discount rate (solid: no
    acquisition cost, dashed: with it), the claimed range shaded, this company marked."""
    fig, ax = figure(title, "annual retention before (%)", "profit lift per customer (%)")
    for (d, g), col in zip(grid.groupby("discount_rate"), PALETTE, strict=False):
        for a, ga in g.groupby("acquisition_cost"):
            ax.plot(100 * ga["retention"], 100 * ga["profit_lift"].clip(upper=ymax), color=col,
                    ls="-" if a == 0 else "--",
                    label=f"discount {d:.0%}" + (f", acquisition cost {a:,.0f}" if a else ""))
    ax.axhspan(100 * claimed[0], 100 * claimed[1], color=COLORS["neutral"], alpha=0.25,
               label="range claimed by the sources")
    if point is not None:
        ax.plot(100 * point[0], 100 * point[1], "o", color=COLORS["truth"],
                label="this company's data")
    ax.set_ylim(0, 100 * ymax)
    ax.legend(fontsize=8)
    return finish(fig)


def acquisition_vs_retention(table: pd.DataFrame, *, claimed: float = 5.0,
                             title: str = "Cost of winning vs keeping a customer"):
    """Ratio of acquisition cost to cost per saved customer, per assumed acquisition cost."""
    fig, ax = figure(title, "assumed acquisition cost per customer (currency)",
                     "acquisition / retention cost (ratio)")
    ax.plot(table["acquisition_cost"], table["ratio"], color=COLORS["primary"],
            label="with the pilot's cost per saved customer")
    ax.axhline(claimed, color=COLORS["accent"], ls="--", label=f"claimed {claimed:g}x")
    ax.axhline(1, color=COLORS["neutral"], lw=0.8)
    ax.legend()
    return finish(fig)


def word_of_mouth(grid: pd.DataFrame,
                  title: str = "Word-of-mouth-adjusted value (sensitivity)"):
    """Mean adjusted value relative to CLV vs conversion rate, per referral count."""
    fig, ax = figure(title, "referral conversion = sway loss rate (%)",
                     "adjusted value / CLV (ratio)")
    for (k, g), col in zip(grid.groupby("referrals_per_promoter"), PALETTE, strict=False):
        ax.plot(100 * g["conversion"], g["relative_to_clv"], color=col,
                label=f"{k:g} referrals per promoter")
    ax.axhline(1, color=COLORS["neutral"], lw=0.8)
    ax.legend()
    return finish(fig)
