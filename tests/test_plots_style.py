"""The project style without seaborn equals seaborn's whitegrid theme (issue 16)."""

from __future__ import annotations

import subprocess
import sys

import matplotlib as mpl
from matplotlib.colors import to_rgba

from crm_lib import plots

#: Set by apply_style itself after the theme, or seaborn-only (its "rocket" colormap).
NOT_COMPARED = {"image.cmap", "axes.labelsize", "axes.titlesize"}


def _norm(key: str, value: object) -> object:
    if key == "axes.prop_cycle":
        return [to_rgba(c) for c in value.by_key()["color"]]
    if key.endswith("color") and isinstance(value, str):
        return to_rgba(value)
    return str(value)


def test_frozen_whitegrid_equals_seaborn_set_theme():
    import seaborn as sns
    with mpl.rc_context():
        mpl.rcdefaults()
        default = dict(mpl.rcParams)
        sns.set_theme(style="whitegrid", palette=plots.PALETTE, font_scale=1.0)
        seaborn = {k: v for k, v in mpl.rcParams.items() if str(v) != str(default[k])}
        mpl.rcdefaults()
        mpl.rcParams.update(plots.SEABORN_WHITEGRID)
        frozen = {k: v for k, v in mpl.rcParams.items() if str(v) != str(default[k])}
    keys = (set(seaborn) | set(frozen)) - NOT_COMPARED
    differ = {k: (seaborn.get(k), frozen.get(k)) for k in sorted(keys)
              if _norm(k, seaborn.get(k, default[k])) != _norm(k, frozen.get(k, default[k]))}
    assert not differ, differ
    assert len(keys) > 20  # the comparison saw the theme


def test_starting_a_session_imports_neither_seaborn_nor_pandera(tmp_path):
    """``crm.start`` (style applied) and a processed-table read pull in no seaborn,
    scipy.stats, pandera or pyspark: the fixed cost of every notebook."""
    code = (
        "import sys, crm_lib as crm\n"
        f"s = crm.start('00_crm_concepts', run_dir={str(tmp_path / 'run')!r})\n"
        "from crm_lib import cleaning, data\n"
        "assert cleaning.VERSION\n"
        "heavy = sorted(m for m in ('seaborn', 'scipy.stats', 'pandera', 'pyspark', "
        "'sklearn', 'statsmodels') if m in sys.modules)\n"
        "print(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**__import__("os").environ,
                                          "CRM_HOME": str(tmp_path / "home")})
    assert out.stdout.strip() == ""
