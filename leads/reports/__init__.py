"""The lead reports a sales manager acts on, each a module with `KEY`, `TITLE`, `SUMMARY` and
`build(filters, today) -> Report` (see `base`). The page, the CSV and the API find them here, in
the order the reports page lists them."""

from leads.reports import (
    base_quality,
    engagement,
    not_lost,
    qualification,
    sources,
    speed,
    timing,
)

REPORTS = {
    module.KEY: module
    for module in (speed, timing, engagement, qualification, not_lost, base_quality, sources)
}
