"""A bare DRF create endpoint that benchmarks measure the lead intake against.

Installed only by `bench.baseline.settings`. It has no migrations folder: its table is made by
`migrate --run-syncdb`, so the project's `makemigrations --check` never sees it.
"""
