"""``python -m mh_mock``: the same as the ``mh-mock`` command."""

from .control.cli import main

raise SystemExit(main())
