"""`python -m bot.cli`: the `dxbot` command without its installed script."""

from bot.cli.main import main

raise SystemExit(main())
