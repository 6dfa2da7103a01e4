"""One visual style for every figure.

Every figure is titled, has labelled axes with units, and is created
through :func:`figure` (or checked by :func:`finish`). Topic modules
(``crm_lib.plots.survey``, ``.value``, ``.churn``, ``.roi``...) build their
figures on these helpers and return the matplotlib ``Figure``.
"""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache

import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib import font_manager

PALETTE = ["#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6", "#a5a5a5"]
#: Named colours for recurring meanings.
COLORS = {"primary": PALETTE[0], "accent": PALETTE[1], "good": PALETTE[2],
          "warn": PALETTE[3], "neutral": PALETTE[6], "truth": "#000000"}


#: seaborn 0.13's ``set_theme(style="whitegrid", context="notebook", palette=PALETTE)``
#: as plain matplotlib settings, so drawing a figure does not import seaborn (and
#: the scipy.stats it imports). seaborn's default image colormap ("rocket", which
#: exists only once seaborn is imported) is left out: every image sets its cmap.
#: tests/test_plots.py checks these against seaborn itself.
SEABORN_WHITEGRID = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.linewidth": 1.25, "axes.prop_cycle": cycler(color=PALETTE),
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    "font.size": 12.0, "grid.color": ".8", "grid.linewidth": 1.0, "legend.fontsize": 11.0,
    "legend.title_fontsize": 12.0, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "text.color": ".15",
    "xtick.bottom": False, "xtick.color": ".15", "xtick.labelsize": 11.0,
    "xtick.major.size": 6.0, "xtick.major.width": 1.25, "xtick.minor.size": 4.0,
    "xtick.minor.width": 1.0,
    "ytick.left": False, "ytick.color": ".15", "ytick.labelsize": 11.0,
    "ytick.major.size": 6.0, "ytick.major.width": 1.25, "ytick.minor.size": 4.0,
    "ytick.minor.width": 1.0,
}

#: Fonts tried for glyphs DejaVu Sans lacks (Chinese, Japanese, Korean labels).
CJK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Register the project's CJK font with matplotlib; its family name (None if absent).

    The font file comes with the project's dependencies (PyPI ``noto-cjk-sans-otc``:
    Noto Sans CJK, SIL Open Font License); a system Noto/Source Han/WenQuanYi font
    is used when that package is missing.
    """
    try:
        import noto_cjk_sans_otc
        path = str(noto_cjk_sans_otc.FONT_PATH)
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    except (ImportError, OSError, RuntimeError):
        pass
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in names), None)


def apply_style() -> None:
    """Apply the project style (seaborn whitegrid, one palette, readable sizes).

    The whitegrid theme is :data:`SEABORN_WHITEGRID` (seaborn's settings, without
    importing seaborn).

    The font list is DejaVu Sans with the CJK font of :func:`cjk_font` as a
    fallback family, so Chinese labels (city names, 是/否 from a GBK export)
    render instead of empty boxes.
    """
    plt.rcParams.update(SEABORN_WHITEGRID)
    cjk = cjk_font()
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold CJK face
    if cjk is None:
        warnings.warn("no CJK font found: Chinese labels will render as boxes (install the "
                      "project's dependencies: noto-cjk-sans-otc)", stacklevel=2)
    plt.rcParams.update({
        "font.family": ["DejaVu Sans", *([cjk] if cjk else [])],
        "figure.figsize": (8, 4.5), "figure.dpi": 100, "axes.titleweight": "bold",
        "axes.titlesize": 12, "axes.labelsize": 10, "legend.frameon": False,
        "savefig.bbox": "tight",
    })


def figure(title: str, xlabel: str, ylabel: str, *, ncols: int = 1, nrows: int = 1,
           figsize: tuple[float, float] | None = None):
    """A new figure with title and axis labels set; returns ``(fig, ax)``."""
    fig, ax = plt.subplots(nrows, ncols, figsize=figsize)
    if nrows * ncols == 1:
        label(ax, title, xlabel, ylabel)
    else:
        fig.suptitle(title, fontweight="bold")
    return fig, ax


def label(ax, title: str, xlabel: str, ylabel: str) -> None:
    """Set a panel's title and axis labels (include units, e.g. 'tenure (months)')."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def finish(fig):
    """Check every panel of ``fig`` is titled and labelled; tighten layout; return it."""
    for ax in fig.axes:
        if not ax.get_visible() or not ax.has_data() or ax.get_label() == "<colorbar>":
            continue
        title = ax.get_title() or (fig._suptitle.get_text() if fig._suptitle else "")
        if not title:
            raise ValueError("every figure needs a title")
        if not ax.get_xlabel() or not ax.get_ylabel():
            raise ValueError(f"figure '{title}': label both axes (with units)")
    fig.tight_layout()
    return fig
