"""SQL aggregates Django does not ship, spelled for each database the product runs on.

`Median` is PostgreSQL's `percentile_cont(0.5) WITHIN GROUP (ORDER BY ...)`: the middle value,
or the mean of the two middle values. SQLite has no such aggregate, so `median_register` adds one
(`MedianOfValues`) to each SQLite connection as it opens; it gives the same answers.
"""

from django.db.models import Aggregate


class Median(Aggregate):
    """The median of an expression, per group: `values("owner").annotate(Median(...))`."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, function="median", template="%(function)s(%(expressions)s)"
        )


class MedianOfValues:
    """SQLite's `median(x)`: the values of the group are kept and sorted at the end (SQLite is
    the embedded database; the big ones run on PostgreSQL)."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        values = sorted(self.values)
        middle = len(values) // 2
        if len(values) % 2:
            return values[middle]
        return (values[middle - 1] + values[middle]) / 2


def median_register(sender, connection, **kwargs):
    """On `connection_created`: give a new SQLite connection its `median` aggregate."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("median", 1, MedianOfValues)
