"""The rulebook loads, validates loudly, and answers "the value on this date"."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from compliance.rules import RulebookError, load_rulebook, rulebook

RULEBOOK = Path(settings.DROPGATE_RULEBOOK_DIR)

GOOD_RULE = """
jurisdiction: XX
"""


@pytest.fixture
def book_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rulebook"
    shutil.copytree(RULEBOOK, target)
    return target


def test_the_shipped_rulebook_loads_and_is_versioned_by_its_content(book_dir: Path) -> None:
    book = rulebook()
    assert len(book.version) == 16
    assert load_rulebook(book_dir).version == book.version
    (book_dir / "de.yaml").write_text((book_dir / "de.yaml").read_text() + "# a comment\n")
    assert load_rulebook(book_dir).version != book.version


def test_country_codes_that_yaml_1_1_reads_as_booleans_stay_codes() -> None:
    book = rulebook()
    assert book.jurisdictions["NO"].scheme == "NO-VOEC"
    assert book.vat_rule("NO", None, "standard").id == "vat.no.standard"
    assert book.vat_rule("CA", "CA-ON", "standard").id == "vat.ca.on.standard"


def test_every_value_has_a_source_with_law_article_and_url() -> None:
    for rule in rulebook().rules.values():
        for dated in rule.values:
            assert dated.source.law and dated.source.article and dated.source.url, rule.id


def test_syria_s_program_ended_on_2025_07_01() -> None:
    rule = rulebook().rule("sanctions.ofac.sy")
    assert rule.in_force(date(2025, 6, 30))
    assert not rule.in_force(date(2025, 7, 1))
    assert rule.effective_to == date(2025, 7, 1)
    assert rule.values[-1].source.law.startswith("Executive Order 14312")


def test_a_rate_is_asked_for_a_date() -> None:
    rule = rulebook().rule("vat.de.standard")
    assert rule.value_on(date(2020, 8, 1)).value == 16
    assert rule.value_on(date(2021, 1, 1)).value == 19
    assert rule.value_on(date(2006, 12, 31)) is None


@pytest.mark.parametrize(
    ("file", "text", "needle"),
    [
        ("de.yaml", "jurisdiction: DE\nname: X\nscheme: EU-OSS\nrules: [\n", "not valid YAML"),
        (
            "zz.yaml",
            "jurisdiction: ZZ\nname: Nowhere\nrules:\n  - id: vat.zz.standard\n    kind: vat_rate\n"
            "    title: t\n    applies_to: {country: ZZ, category: standard}\n    values:\n"
            "      2020-01-01: {value: 5, source: {law: L, article: A, url: U}}\n",
            "`jurisdiction` is an ISO code",
        ),
    ],
)
def test_a_bad_file_fails_loudly_naming_the_file(
    book_dir: Path, file: str, text: str, needle: str
) -> None:
    (book_dir / file).write_text(text)
    with pytest.raises(RulebookError) as raised:
        load_rulebook(book_dir)
    assert file in str(raised.value) and needle in str(raised.value)


def _break(book_dir: Path, old: str, new: str, file: str = "de.yaml") -> str:
    path = book_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(RulebookError) as raised:
        load_rulebook(book_dir)
    return str(raised.value)


def test_a_value_without_its_source_names_the_file_and_the_rule(book_dir: Path) -> None:
    message = _break(
        book_dir, '          url: "https://www.gesetze-im-internet.de/ustg_1980/__12.html"\n', ""
    )
    assert "de.yaml" in message and "vat.de.standard" in message and "url" in message


def test_a_rate_out_of_range_is_refused(book_dir: Path) -> None:
    message = _break(book_dir, "value: 19\n", "value: 119\n")
    assert "vat.de.standard" in message and "rate" in message


def test_dates_out_of_order_are_refused(book_dir: Path) -> None:
    message = _break(book_dir, "2021-01-01:", "2019-01-01:")
    assert "ascending" in message


def test_a_duplicate_rule_id_is_refused(book_dir: Path) -> None:
    message = _break(book_dir, "id: vat.de.e_publication", "id: vat.de.standard")
    assert "duplicate" in message or "also set" in message


def test_an_unknown_kind_and_an_unknown_key_are_refused(book_dir: Path) -> None:
    assert "kind must be" in _break(book_dir, "kind: vat_rate", "kind: vat_rat")


def test_an_unknown_key_is_refused(book_dir: Path) -> None:
    assert "unknown keys" in _break(
        book_dir, "    kind: vat_rate\n", "    kind: vat_rate\n    colour: red\n"
    )


def test_a_block_on_a_bogus_region_is_refused(book_dir: Path) -> None:
    message = _break(
        book_dir, "regions: [UA-43, UA-40]", "regions: [UA-43, crimea]", "sanctions.yaml"
    )
    assert "sanctions.yaml" in message and "sanctions.ofac.crimea" in message


def test_an_undeclared_reference_package_is_refused(book_dir: Path) -> None:
    message = _break(
        book_dir, "reference: eu-vat-rates-data:standard", "reference: other-pkg:standard"
    )
    assert "other-pkg" in message


def test_the_app_validates_the_rulebook_at_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    broken = tmp_path / "rulebook"
    shutil.copytree(RULEBOOK, broken)
    (broken / "de.yaml").write_text(
        (broken / "de.yaml").read_text().replace("value: 19\n", "value: x\n", 1)
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "compliance_check", "--country", "DE"],
        cwd=settings.BASE_DIR,
        env={**__import__("os").environ, "DROPGATE_RULEBOOK_DIR": str(broken)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "de.yaml" in done.stderr and "vat.de.standard" in done.stderr
