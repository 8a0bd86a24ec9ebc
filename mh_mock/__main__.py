"""``python -m mh_mock``: the same as the ``mh-mock`` command."""

from .cli import main

raise SystemExit(main())
