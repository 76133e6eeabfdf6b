"""``python -m bestby``: the ``bestby`` command."""

from bestby.cli import main

main()
