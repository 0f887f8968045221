"""The rulebook: compliance rules as data (YAML in `compliance/rulebook/`), loaded and checked.

Each file is one jurisdiction (or `sanctions`, `thresholds`); each rule has an id, a kind,
what it applies to, and its values keyed by the date each took effect, every value with its
legal source (law, article, URL). Code never holds a rate or a threshold: it asks a rule for
its value on a date (`Rule.value_on`), OpenFisca-style. A rule changes by adding a dated
value; `null` (or `false` for a block) ends it.

`rulebook()` loads the directory once per process (AppConfig.ready does it at start, so a bad
file stops the process) and caches the parsed, indexed result. A bad file raises
RulebookError naming the file and the rule. The version is a hash of the files' bytes; it is
recorded on every decision with the ids of the rules the decision used.

Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from compliance.geo import is_country, is_region, is_timezone

__all__ = [
    "CATEGORIES",
    "KINDS",
    "DatedValue",
    "Jurisdiction",
    "Reference",
    "Rule",
    "Rulebook",
    "RulebookError",
    "load_rulebook",
    "rulebook",
    "rulebook_reset",
]

CATEGORIES = ("standard", "e_publication")
KINDS = (
    "vat_rate",
    "block",
    "threshold",
    "monitoring",
    "location_evidence",
    "consent",
    "membership",
)
RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
REFERENCE_MODES = ("standard", "any", "zero")
_SPECIAL_FILES = ("sanctions", "thresholds", "EU")


class RulebookError(ImproperlyConfigured):
    """A rulebook file that cannot be used. The message names the file and the rule."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without its traps: `NO`, `ON`, `Y` stay strings (they are country and region
    codes here), only `true`/`false` are booleans, and numbers with a fraction are Decimal."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
_Loader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: Decimal(str(loader.construct_scalar(node)).replace("_", "")),  # type: ignore[arg-type]
)


@dataclass(frozen=True)
class Source:
    law: str
    article: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"law": self.law, "article": self.article, "url": self.url}


@dataclass(frozen=True)
class DatedValue:
    effective_from: date
    value: Any
    source: Source


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    title: str
    file: str
    jurisdiction: str
    applies_to: Mapping[str, Any]
    values: tuple[DatedValue, ...]
    reference: str = ""
    fallback: str = ""
    _dates: tuple[date, ...] = field(default=(), repr=False, compare=False)

    def value_on(self, on: date) -> DatedValue | None:
        """The value in force on `on`, or None (before the first date, or ended by null)."""
        index = bisect_right(self._dates, on) - 1
        if index < 0:
            return None
        dated = self.values[index]
        return None if dated.value is None else dated

    def in_force(self, on: date) -> bool:
        """For blocks and switches: a value that is neither null nor false on `on`."""
        dated = self.value_on(on)
        return dated is not None and dated.value is not False

    @property
    def effective_from(self) -> date:
        return self.values[0].effective_from

    @property
    def effective_to(self) -> date | None:
        """The first day the rule is no longer in force after having been (exclusive), if any."""
        seen = False
        for dated in self.values:
            if dated.value is None or dated.value is False:
                if seen:
                    return dated.effective_from
            else:
                seen = True
        return None


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    file: str
    scheme: str = ""
    currency: str = ""
    union: str = ""


@dataclass(frozen=True)
class Reference:
    id: str
    package: str
    version: str
    data_date: date
    checked_on: date
    covers: str


@dataclass(frozen=True)
class Rulebook:
    """The parsed rulebook, indexed for the hot path. Immutable; shared between threads."""

    version: str
    directory: str
    files: Mapping[str, str]
    rules: Mapping[str, Rule]
    jurisdictions: Mapping[str, Jurisdiction]
    references: Mapping[str, Reference]
    vat: Mapping[tuple[str, str, str], Rule]
    blocks_by_country: Mapping[str, tuple[Rule, ...]]
    blocks_by_region: Mapping[str, tuple[Rule, ...]]
    blocks_by_timezone: Mapping[str, tuple[Rule, ...]]

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def vat_rule(self, country: str, region: str | None, category: str) -> Rule | None:
        """The rate rule for a region (ISO 3166-2) if one exists, else for its country."""
        if region:
            found = self.vat.get((country, region, category))
            if found is not None:
                return found
        return self.vat.get((country, "", category))

    def scheme_of(self, country: str) -> str:
        jurisdiction = self.jurisdictions.get(country)
        return jurisdiction.scheme if jurisdiction else ""

    def eu_members(self, on: date) -> frozenset[str]:
        dated = self.rules["members.eu"].value_on(on)
        return frozenset(dated.value) if dated else frozenset()


# --- Validation --------------------------------------------------------------------------------


def _fail(file: str, rule: str | None, message: str) -> RulebookError:
    where = f"compliance rulebook {file}" + (f": rule {rule}" if rule else "")
    return RulebookError(f"{where}: {message}")


def _text(value: Any, *, file: str, rule: str | None, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(file, rule, f"{name} must be non-empty text")
    return value.strip()


def _source(raw: Any, *, file: str, rule: str, when: date) -> Source:
    if not isinstance(raw, dict):
        raise _fail(file, rule, f"value of {when}: `source` (law, article, url) is missing")
    missing = [key for key in ("law", "article", "url") if not isinstance(raw.get(key), str)]
    if missing or any(not str(raw.get(key, "")).strip() for key in ("law", "article", "url")):
        raise _fail(file, rule, f"value of {when}: source needs law, article and url as text")
    extra = set(raw) - {"law", "article", "url"}
    if extra:
        raise _fail(file, rule, f"value of {when}: unknown source keys {sorted(extra)}")
    return Source(law=raw["law"].strip(), article=raw["article"].strip(), url=raw["url"].strip())


def _rate(value: Any, *, file: str, rule: str, when: date) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _fail(file, rule, f"value of {when}: a rate is a number of percent, got {value!r}")
    rate = Decimal(value)
    if not Decimal(0) <= rate < Decimal(100) or rate.as_tuple().exponent < -3:  # type: ignore[operator]
        raise _fail(file, rule, f"value of {when}: rate {value} is not 0 ≤ r < 100 (3 decimals)")
    return rate


def _check_value(kind: str, value: Any, *, file: str, rule: str, when: date) -> Any:
    if kind == "vat_rate":
        return _rate(value, file=file, rule=rule, when=when)
    if kind == "block":
        if not isinstance(value, bool) and value is not None:
            raise _fail(file, rule, f"value of {when}: a block is true or false")
        return value
    if kind == "membership":
        if not isinstance(value, list) or not all(is_country(c) for c in value):
            raise _fail(file, rule, f"value of {when}: membership is a list of ISO country codes")
        return tuple(value)
    if value is not None and not isinstance(value, dict):
        raise _fail(file, rule, f"value of {when}: a {kind} rule's value is a mapping")
    if kind in ("threshold", "monitoring") and isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_eur") or key.endswith("_pct") or key == "amount_eur":
                try:
                    Decimal(str(item))
                except ArithmeticError as exc:
                    raise _fail(file, rule, f"value of {when}: {key} is not a number") from exc
            if key == "countries" and not all(is_country(c) for c in item):
                raise _fail(file, rule, f"value of {when}: countries must be ISO codes")
    return MappingProxyType(dict(value)) if isinstance(value, dict) else value


def _applies_to(kind: str, raw: Any, *, file: str, rule: str) -> Mapping[str, Any]:
    if kind not in ("vat_rate", "block"):
        return MappingProxyType({})
    if not isinstance(raw, dict):
        raise _fail(file, rule, "`applies_to` is required for this kind")
    if kind == "vat_rate":
        country, region, category = raw.get("country"), raw.get("region", ""), raw.get("category")
        if not is_country(country):
            raise _fail(file, rule, f"applies_to.country {country!r} is not an ISO 3166-1 code")
        if region and (not is_region(region) or not region.startswith(f"{country}-")):
            raise _fail(file, rule, f"applies_to.region {region!r} is not a region of {country}")
        if category not in CATEGORIES:
            raise _fail(file, rule, f"applies_to.category must be one of {CATEGORIES}")
        return MappingProxyType({"country": country, "region": region, "category": category})
    countries = raw.get("countries", []) or []
    regions = raw.get("regions", []) or []
    timezones = raw.get("timezones", []) or []
    if not (countries or regions or timezones):
        raise _fail(file, rule, "a block applies to countries, regions or timezones")
    for country in countries:
        if not is_country(country):
            raise _fail(file, rule, f"{country!r} is not an ISO 3166-1 code")
    for region in regions:
        if not is_region(region):
            raise _fail(file, rule, f"{region!r} is not an ISO 3166-2 code")
    for zone in timezones:
        if not is_timezone(zone):
            raise _fail(file, rule, f"{zone!r} is not an IANA time zone")
    return MappingProxyType(
        {"countries": tuple(countries), "regions": tuple(regions), "timezones": tuple(timezones)}
    )


def _rule(raw: Any, *, file: str, jurisdiction: str) -> Rule:
    if not isinstance(raw, dict):
        raise _fail(file, None, "each entry of `rules` is a mapping")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not RULE_ID_RE.match(rule_id):
        raise _fail(file, str(rule_id), "id must be dotted lower-case, e.g. vat.de.standard")
    known = {"id", "kind", "title", "applies_to", "values", "reference", "fallback"}
    extra = set(raw) - known
    if extra:
        raise _fail(file, rule_id, f"unknown keys {sorted(extra)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _fail(file, rule_id, f"kind must be one of {KINDS}, got {kind!r}")
    title = _text(raw.get("title"), file=file, rule=rule_id, name="title")
    applies_to = _applies_to(kind, raw.get("applies_to"), file=file, rule=rule_id)
    values_raw = raw.get("values")
    if not isinstance(values_raw, dict) or not values_raw:
        raise _fail(file, rule_id, "`values` maps dates (YYYY-MM-DD) to dated values")
    values: list[DatedValue] = []
    for when, entry in values_raw.items():
        if not isinstance(when, date):
            raise _fail(file, rule_id, f"values key {when!r} is not a date (YYYY-MM-DD)")
        if not isinstance(entry, dict) or "value" not in entry:
            raise _fail(file, rule_id, f"value of {when}: needs `value` and `source`")
        extra = set(entry) - {"value", "source"}
        if extra:
            raise _fail(file, rule_id, f"value of {when}: unknown keys {sorted(extra)}")
        values.append(
            DatedValue(
                effective_from=when,
                value=_check_value(kind, entry["value"], file=file, rule=rule_id, when=when),
                source=_source(entry.get("source"), file=file, rule=rule_id, when=when),
            )
        )
    dates = [v.effective_from for v in values]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise _fail(file, rule_id, "values must be in ascending date order, one per date")
    reference = raw.get("reference", "") or ""
    if reference and reference != "none":
        package, _, mode = reference.partition(":")
        if not package or mode not in REFERENCE_MODES:
            raise _fail(
                file, rule_id, f"reference {reference!r} is not <package>:{REFERENCE_MODES}"
            )
    fallback = raw.get("fallback", "") or ""
    return Rule(
        id=rule_id,
        kind=kind,
        title=title,
        file=file,
        jurisdiction=jurisdiction,
        applies_to=applies_to,
        values=tuple(values),
        reference="" if reference == "none" else reference,
        fallback=fallback,
        _dates=tuple(dates),
    )


def _parse_file(name: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise _fail(name, None, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(name, None, "the file must be a mapping with `jurisdiction` and `rules`")
    extra = set(data) - {
        "jurisdiction",
        "name",
        "union",
        "scheme",
        "currency",
        "rules",
        "references",
    }
    if extra:
        raise _fail(name, None, f"unknown top-level keys {sorted(extra)}")
    return data


def load_rulebook(directory: Path | str) -> Rulebook:
    """Read, validate and index every `*.yaml` in `directory`. Raises RulebookError."""
    path = Path(directory)
    files = sorted(path.glob("*.yaml"))
    if not files:
        raise RulebookError(f"compliance rulebook: no *.yaml files in {path}")
    digest = hashlib.sha256()
    texts: dict[str, str] = {}
    rules: dict[str, Rule] = {}
    jurisdictions: dict[str, Jurisdiction] = {}
    references: dict[str, Reference] = {}
    for file in files:
        raw_bytes = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + raw_bytes + b"\0")
        try:
            text = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(file.name, None, "not UTF-8") from exc
        texts[file.name] = text
        data = _parse_file(file.name, text)
        raw_code = data.get("jurisdiction")
        if not (is_country(raw_code) or raw_code in _SPECIAL_FILES):
            raise _fail(
                file.name, None, "`jurisdiction` is an ISO code, EU, sanctions or thresholds"
            )
        code = str(raw_code)
        if code in jurisdictions:
            raise _fail(
                file.name, None, f"jurisdiction {code} is also in {jurisdictions[code].file}"
            )
        jurisdictions[code] = Jurisdiction(
            code=code,
            name=_text(data.get("name"), file=file.name, rule=None, name="name"),
            file=file.name,
            scheme=str(data.get("scheme", "") or ""),
            currency=str(data.get("currency", "") or ""),
            union=str(data.get("union", "") or ""),
        )
        for ref in data.get("references", []) or []:
            try:
                reference = Reference(
                    id=str(ref["id"]),
                    package=str(ref["package"]),
                    version=str(ref["version"]),
                    data_date=ref["data_date"],
                    checked_on=ref["checked_on"],
                    covers=str(ref.get("covers", "")),
                )
            except (KeyError, TypeError) as exc:
                raise _fail(file.name, None, f"reference {ref!r} is incomplete") from exc
            references[reference.id] = reference
        entries = data.get("rules")
        if not isinstance(entries, list) or not entries:
            raise _fail(file.name, None, "`rules` is a non-empty list")
        for entry in entries:
            rule = _rule(entry, file=file.name, jurisdiction=code)
            if rule.id in rules:
                raise _fail(file.name, rule.id, f"duplicate id (also in {rules[rule.id].file})")
            rules[rule.id] = rule
    return _index(
        version=digest.hexdigest()[:16],
        directory=str(path),
        texts=texts,
        rules=rules,
        jurisdictions=jurisdictions,
        references=references,
    )


def _index(
    *,
    version: str,
    directory: str,
    texts: dict[str, str],
    rules: dict[str, Rule],
    jurisdictions: dict[str, Jurisdiction],
    references: dict[str, Reference],
) -> Rulebook:
    vat: dict[tuple[str, str, str], Rule] = {}
    by_country: dict[str, list[Rule]] = {}
    by_region: dict[str, list[Rule]] = {}
    by_zone: dict[str, list[Rule]] = {}
    for rule in rules.values():
        if rule.reference:
            package = rule.reference.partition(":")[0]
            if package not in references:
                raise _fail(rule.file, rule.id, f"reference package {package!r} is not declared")
        if rule.fallback:
            target = rules.get(rule.fallback)
            if target is None or target.kind != rule.kind:
                raise _fail(rule.file, rule.id, f"fallback {rule.fallback!r} is not a {rule.kind}")
        if rule.kind == "vat_rate":
            key = (
                rule.applies_to["country"],
                rule.applies_to["region"],
                rule.applies_to["category"],
            )
            if key in vat:
                raise _fail(rule.file, rule.id, f"{key} is also set by {vat[key].id}")
            if (
                rule.applies_to["country"] not in jurisdictions
                or not jurisdictions[rule.applies_to["country"]].scheme
            ):
                raise _fail(rule.file, rule.id, "a VAT rule's country file must name its scheme")
            vat[key] = rule
        elif rule.kind == "block":
            for country in rule.applies_to["countries"]:
                by_country.setdefault(country, []).append(rule)
            for region in rule.applies_to["regions"]:
                by_region.setdefault(region, []).append(rule)
            for zone in rule.applies_to["timezones"]:
                by_zone.setdefault(zone, []).append(rule)
    for required in ("location.eu.two_evidence", "members.eu", "aml.reader.rolling_limit"):
        if required not in rules:
            raise RulebookError(f"compliance rulebook: required rule {required} is missing")

    def frozen(index: dict[str, list[Rule]]) -> Mapping[str, tuple[Rule, ...]]:
        return MappingProxyType({k: tuple(sorted(v, key=lambda r: r.id)) for k, v in index.items()})

    return Rulebook(
        version=version,
        directory=directory,
        files=MappingProxyType(texts),
        rules=MappingProxyType(rules),
        jurisdictions=MappingProxyType(jurisdictions),
        references=MappingProxyType(references),
        vat=MappingProxyType(vat),
        blocks_by_country=frozen(by_country),
        blocks_by_region=frozen(by_region),
        blocks_by_timezone=frozen(by_zone),
    )


# --- The process's rulebook ------------------------------------------------------------------

_lock = threading.Lock()
_cached: Rulebook | None = None


def rulebook() -> Rulebook:
    """The rulebook of DROPGATE_RULEBOOK_DIR, parsed once per process (thread-safe)."""
    global _cached  # noqa: PLW0603 - the process-wide parsed rulebook, by design
    book = _cached
    directory = str(settings.DROPGATE_RULEBOOK_DIR)
    if book is not None and book.directory == directory:
        return book
    with _lock:
        if _cached is None or _cached.directory != directory:
            _cached = load_rulebook(directory)
        return _cached


def rulebook_reset() -> None:
    """Forget the parsed rulebook (tests that switch directories, a reload after an edit)."""
    global _cached  # noqa: PLW0603
    with _lock:
        _cached = None
