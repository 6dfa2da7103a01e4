"""Lazy package faces (PEP 562 module ``__getattr__``): names load with their module.

A package ``__init__`` declares which submodule defines each public name and
gets a module ``__getattr__`` and ``__dir__``::

    __getattr__, __dir__, __all__ = lazy_face(__name__, {"clean_folder": "pipeline",
                                                         "messy": None})

``None`` marks a submodule exported by its own name; every other submodule of
the package is reachable as an attribute too (``crm_lib.cleaning.rules``), as
it was when the face imported everything. A name is imported on
first access (``pkg.name`` or ``from pkg import name``) and then kept in the
package namespace, so later accesses cost nothing. This is not a fallback: a
missing module or name raises as an eager import would.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Mapping


def lazy_face(package: str, face: Mapping[str, str | None]
              ) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` of package ``package`` exporting ``face``."""
    face = dict(face)
    names = sorted(face)
    here = sys.modules[package].__path__
    face.update({m.name: None for m in pkgutil.iter_modules(here) if m.name not in face})

    def __getattr__(name: str) -> object:  # noqa: N807 - the PEP 562 hook
        if name not in face:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f".{face[name] or name}", package)
        value = module if face[name] is None else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__, names
