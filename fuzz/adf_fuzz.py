#!/usr/bin/env python3
"""Coverage-guided fuzzing of the ADF/XML reader (`leads.adf`) with atheris.

    PATH=.venv/bin:$PATH fuzz/adf_fuzz.py fuzz/.work/corpus fuzz/corpus/adf -dict=fuzz/adf.dict \
        -max_total_time=600 -rss_limit_mb=2048 -timeout=5 -artifact_prefix=fuzz/.work/

The contract checked, for any bytes: `parse_adf` returns the submissions of an ADF document or
raises `AdfRejected` with a message, and `adf_from_email` returns a document holding <adf> or
raises `AdfRejected`. Any other exception, a broken invariant below, a hang (-timeout) or a memory
blow-up (-rss_limit_mb, e.g. entity expansion) is a crash. ADF_FUZZ_TARGET=parse (or email)
fuzzes one entry point alone; the default runs both on each input.

`check_one_input` needs no atheris: tests/leads/test_adf_fuzz_harness.py runs it over the seeds,
so CI exercises the harness; atheris is imported only when this module is run.
"""

import gc
import os
import sys
import types
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, as libFuzzer does again (argv[0]) to minimise a crash: the project root
    # must be importable and Django configured before the project's modules load.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from leads import adf
from leads.adf import AdfRejected, adf_from_email, parse_adf
from leads.submission import Format, Submission


class ContractBroken(AssertionError):
    """The parser answered, but not as its contract says."""


def check_one_input(data: bytes) -> None:
    """Raise when `data` makes the parser break its contract; return quietly otherwise."""
    check_document(data)
    check_email(data)


def check_email(data: bytes) -> None:
    try:
        document = adf_from_email(data)
    except AdfRejected as rejected:
        _require(str(rejected), "AdfRejected from adf_from_email without a message")
        return
    _require(isinstance(document, bytes), f"adf_from_email returned {type(document).__name__}")
    _require(b"<adf" in document.lower(), "adf_from_email returned a document without <adf")
    check_document(document)


def check_document(data: bytes) -> None:
    try:
        submissions = parse_adf(data)
    except AdfRejected as rejected:
        _require(str(rejected), "AdfRejected without a message")
        return
    _require(isinstance(submissions, list), f"parse_adf returned {type(submissions).__name__}")
    _require(1 <= len(submissions) <= 100, f"{len(submissions)} submissions")
    _require(
        len({submission.raw_payload for submission in submissions}) == 1,
        "prospects of one document kept different raw payloads",
    )
    for submission in submissions:
        _require(isinstance(submission, Submission), f"got a {type(submission).__name__}")
        _require(submission.payload_format == Format.ADF, "payload_format is not ADF")
        _check_submission(submission)
    # Only the purchase horizon depends on the clock (when no requestdate), and only a buying
    # date within microseconds of a horizon's bound could tell the two parses apart.
    _require(parse_adf(data) == submissions, "parsing the same bytes twice gave different results")


def _check_submission(submission) -> None:
    _require(submission.channel == "third_party", f"channel {submission.channel!r}")
    _require(isinstance(submission.raw_payload, str), "raw_payload is not text")
    _require(
        not any("could not be read" in warning for warning in submission.warnings),
        "the per-prospect safety net caught an exception (see the log above)",
    )
    _require(all(isinstance(w, str) and w for w in submission.warnings), "an empty warning")
    _require_text(submission.source, adf.MAX_SOURCE, "source", allow_empty=False)
    for name, limit in (
        ("external_id", adf.MAX_EXTERNAL_ID),
        ("first_name", adf.MAX_NAME),
        ("last_name", adf.MAX_NAME),
        ("postal_code", adf.MAX_POSTAL_CODE),
        ("comments", adf.MAX_COMMENTS),
    ):
        _require_text(getattr(submission, name), limit, name)
    region = submission.phone_region
    _require(
        region == "" or (len(region) == 2 and region.isascii() and region.isupper()),
        f"phone_region {region!r}",
    )
    _require(
        submission.purchase_horizon
        in ("", "within_week", "within_month", "within_3_months", "within_6_months", "later"),
        f"purchase_horizon {submission.purchase_horizon!r}",
    )
    moment = submission.requested_at
    _require(moment is None or moment.utcoffset() is not None, "requested_at without an offset")
    for vehicle in (submission.vehicle, submission.trade_in):
        if vehicle is not None:
            _check_vehicle(vehicle)

    # The parser passes e-mails and phones on as sent; intake normalises each or records why it
    # could not (InvalidContactDetail), and nothing else may come out of that.
    for name, normalize in (
        ("emails", normalize_email),
        ("phones", lambda raw: normalize_phone(raw, submission.phone_region or None)),
    ):
        values = getattr(submission, name)
        _require(isinstance(values, tuple), f"{name} is not a tuple")
        _require(len(set(values)) == len(values), f"{name} repeat a value")
        for value in values:
            _require_text(value, None, name, allow_empty=False)
            try:
                normalized = normalize(value)
            except InvalidContactDetail:
                continue
            _require(isinstance(normalized, str) and normalized, f"{name}: {value!r} normalised")


def _check_vehicle(vehicle) -> None:
    _require(vehicle.year is None or 1900 <= vehicle.year <= 2100, f"year {vehicle.year!r}")
    _require(
        vehicle.mileage is None or 0 <= vehicle.mileage <= adf.MAX_MILEAGE,
        f"mileage {vehicle.mileage!r}",
    )
    _require(vehicle.condition in ("", "new", "used"), f"condition {vehicle.condition!r}")
    for name, limit in (
        ("make", adf.MAX_MAKE),
        ("model", adf.MAX_MODEL),
        ("trim", adf.MAX_TRIM),
        ("vin", adf.MAX_VIN),
        ("stock", adf.MAX_STOCK),
    ):
        _require_text(getattr(vehicle, name), limit, f"vehicle {name}")


def _require_text(value, limit, name, *, allow_empty=True) -> None:
    _require(isinstance(value, str), f"{name} is a {type(value).__name__}")
    _require(allow_empty or value, f"{name} is empty")
    _require(value == value.strip(), f"{name} {value[:40]!r} is not stripped")
    _require(limit is None or len(value) <= limit, f"{name} is longer than {limit}")


def _require(condition, message) -> None:
    if not condition:
        raise ContractBroken(message)


TARGETS = {"both": check_one_input, "parse": check_document, "email": check_email}

# Code whose branches steer the fuzzer. Instrumenting everything loaded (atheris.instrument_all)
# takes minutes with Django imported and feeds it branches no ADF document can reach.
INSTRUMENTED = (
    "leads.adf",
    "defusedxml",
    "xml.etree",
    "email",
    "html",
    "codecs",
    "encodings",
    "django.utils.html",
    "django.utils.dateparse",
    "dealercrm.contacts",
    "phonenumbers",
)


def main() -> None:
    import atheris
    import django

    django.setup()
    count = 0
    for obj in gc.get_objects():
        module = getattr(obj, "__module__", None) or ""
        if isinstance(obj, types.FunctionType) and any(
            module == name or module.startswith(f"{name}.") for name in INSTRUMENTED
        ):
            atheris.instrument_func(obj)
            count += 1
    print(f"INFO: instrumented {count} functions of {', '.join(INSTRUMENTED)}", file=sys.stderr)
    # E-mail header parsing costs ~20 ms an input against ~0.5 ms for parse_adf: "parse" runs
    # many more documents through the parser the API exposes.
    target = TARGETS[os.environ.get("ADF_FUZZ_TARGET", "both")]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
