"""The fuzzing harness (fuzz/adf_fuzz.py) on its committed seed corpus, without atheris: CI runs
the harness's contract checks on every seed, so a seed the parser mishandles, or a harness that
no longer runs, fails the suite rather than the next fuzzing session."""

import dataclasses
import sys
from pathlib import Path

import pytest

from fuzz import adf_fuzz
from fuzz.adf_fuzz import ContractBroken, check_one_input

SEEDS = sorted((Path(adf_fuzz.__file__).resolve().parent / "corpus" / "adf").iterdir())


def test_the_harness_imports_without_atheris():
    assert "atheris" not in sys.modules


def test_the_seed_corpus_holds_the_samples_and_the_attacks():
    names = {seed.name for seed in SEEDS}

    assert len(names) >= 10
    assert "08_seorylie_xxe_attack_probe.xml" in names
    assert "10_email_multipart_qp_latin1.eml" in names


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: seed.name)
def test_every_seed_meets_the_parser_contract(seed):
    check_one_input(seed.read_bytes())


def test_the_harness_catches_a_result_that_breaks_an_invariant(monkeypatch):
    [good] = adf_fuzz.parse_adf((SEEDS[0]).read_bytes())
    spaced = dataclasses.replace(good, emails=(" a@example.com",))
    monkeypatch.setattr(adf_fuzz, "parse_adf", lambda data: [spaced])

    with pytest.raises(ContractBroken, match="emails ' a@example.com' is not stripped"):
        check_one_input(b"<adf/>")


def test_the_harness_lets_any_other_exception_through(monkeypatch):
    def broken(data):
        raise ValueError("embedded null character")

    monkeypatch.setattr(adf_fuzz, "adf_from_email", broken)

    with pytest.raises(ValueError, match="embedded null character"):
        check_one_input(b"<adf/>")
