"""`python -m medshare_shared ...` is the `medshare` command."""

from medshare_shared.cli import main

main()
