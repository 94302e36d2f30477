"""``python -m complexa``: the ``complexa`` command."""

from complexa.cli import main

raise SystemExit(main())
