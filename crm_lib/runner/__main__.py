"""``python -m crm_lib.runner`` = ``crm-report``."""

from .cli import main

raise SystemExit(main())
