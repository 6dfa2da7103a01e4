"""crm_lib: the computation, plotting and I/O behind the CRM analytics notebooks.

Submodules load on first use (``crm_lib.survey``, ``crm_lib.churn``...), so a
notebook needs only ``import crm_lib as crm``.
"""

import importlib

from .session import Session, start

__all__ = ["Session", "start"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        raise AttributeError(f"crm_lib has no module {name!r}") from exc
