"""`python -m reconciler` is `hactl`."""

from reconciler.cli.main import main

main()
