"""The `kb` command line: the top of the dependency graph, wiring kb, scrapers, index and web."""
