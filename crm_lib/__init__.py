"""crm_lib: the computation, plotting and I/O behind the CRM analytics notebooks."""

from .session import Session, start

__all__ = ["Session", "start"]
__version__ = "0.1.0"
