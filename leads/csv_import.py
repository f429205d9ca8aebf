"""Reading a CSV list of leads (a lead broker's file, a car show's sign-up sheet) into
Submissions, row by row, with a reason for every row that cannot be read.

Columns are matched by header, case-insensitively, in any order; unknown columns are kept in
the row's raw payload. A typed value that does not read (a year "soon") rejects its row, naming
the column: an operator is at hand to fix the file and import it again, and rows already
imported are recognised then.
"""

import csv
import hashlib
import json
from dataclasses import dataclass

from leads.models import Lead
from leads.submission import Format, Submission, VehicleDetails

TEXT_COLUMNS = {
    "external_id": 128,
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 40,
    "postal_code": 16,
    "vehicle_make": 50,
    "vehicle_model": 50,
    "vehicle_trim": 80,
    "vehicle_vin": 17,
    "vehicle_stock": 32,
    "tradein_make": 50,
    "tradein_model": 50,
    "tradein_vin": 17,
    "comments": 10_000,
    "visitor_id": 64,
}
NUMBER_COLUMNS = {
    "vehicle_year": (1900, 2100),
    "tradein_year": (1900, 2100),
    "tradein_mileage": (0, 10_000_000),
}
CHOICE_COLUMNS = {
    "channel": {value for value, _ in Lead.Channel.choices},
    "vehicle_condition": {"new", "used"},
    "purchase_horizon": {value for value, _ in Lead.PurchaseHorizon.choices},
}
COLUMNS = {*TEXT_COLUMNS, *NUMBER_COLUMNS, *CHOICE_COLUMNS}


class RowRejected(ValueError):
    pass


@dataclass(frozen=True)
class CsvRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    submission: Submission | None
    problem: str = ""


def csv_rows(lines, *, source):
    """Yield a CsvRow per data row of `lines` (an open text file); raise RowRejected when the
    header itself is unusable."""
    reader = csv.DictReader(lines)
    if not reader.fieldnames:
        raise RowRejected("The file is empty: it needs a header row naming the columns.")
    header = [name.strip().lower() for name in reader.fieldnames]
    if not COLUMNS & set(header):
        raise RowRejected(
            "No known column in the header; expected some of: " + ", ".join(sorted(COLUMNS))
        )
    reader.fieldnames = header
    for raw in reader:
        number = reader.line_num
        if None in raw:
            yield CsvRow(number, None, "more values than the header has columns")
            continue
        values = {name: (value or "").strip() for name, value in raw.items()}
        if not any(values.values()):
            yield CsvRow(number, None, "empty row")
            continue
        try:
            yield CsvRow(number, _submission(values, source))
        except RowRejected as problem:
            yield CsvRow(number, None, str(problem))


def _number(values, name):
    text = values.get(name, "")
    if not text:
        return None
    low, high = NUMBER_COLUMNS[name]
    try:
        number = int(float(text.replace(",", "")))
    except ValueError:
        raise RowRejected(f"{name} {text!r} is not a number") from None
    if not low <= number <= high:
        raise RowRejected(f"{name} {text!r} is not between {low} and {high}")
    return number


def _submission(values, source):
    for name, limit in TEXT_COLUMNS.items():
        if len(values.get(name, "")) > limit:
            raise RowRejected(f"{name} is longer than {limit} characters")
    for name, allowed in CHOICE_COLUMNS.items():
        value = values.get(name, "").lower()
        if value and value not in allowed:
            choices = ", ".join(sorted(filter(None, allowed)))
            raise RowRejected(f"{name} {values[name]!r} is not one of: {choices}")
        if name in values:
            values[name] = value
    vehicle = VehicleDetails(
        year=_number(values, "vehicle_year"),
        make=values.get("vehicle_make", ""),
        model=values.get("vehicle_model", ""),
        trim=values.get("vehicle_trim", ""),
        vin=values.get("vehicle_vin", "").upper(),
        stock=values.get("vehicle_stock", ""),
        condition=values.get("vehicle_condition", ""),
    )
    trade_in = VehicleDetails(
        year=_number(values, "tradein_year"),
        make=values.get("tradein_make", ""),
        model=values.get("tradein_model", ""),
        vin=values.get("tradein_vin", "").upper(),
        mileage=_number(values, "tradein_mileage"),
    )
    raw = json.dumps(values, ensure_ascii=False, sort_keys=True)
    # A row without an id of its own is known by its content, so importing the same file
    # twice receives each row once.
    external_id = (
        values.get("external_id") or "row-" + hashlib.sha256(raw.encode()).hexdigest()[:32]
    )
    return Submission(
        source=source,
        channel=values.get("channel", "") or Lead.Channel.IMPORT,
        external_id=external_id,
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        emails=tuple(filter(None, [values.get("email", "")])),
        phones=tuple(filter(None, [values.get("phone", "")])),
        postal_code=values.get("postal_code", ""),
        vehicle=None if vehicle.is_empty() else vehicle,
        trade_in=None if trade_in.is_empty() else trade_in,
        purchase_horizon=values.get("purchase_horizon", ""),
        comments=values.get("comments", ""),
        visitor_id=values.get("visitor_id", ""),
        payload_format=Format.CSV,
        raw_payload=raw,
    )
