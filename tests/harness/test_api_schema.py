"""Schemathesis against /api/schema/ (drf-spectacular), on a real server process.

Every operation of the schema, with and without credentials, in positive (schema-valid) and
negative (schema-violating) modes, and the stateful phase over the links schemathesis infers
between operations. Checks: no 5xx; status codes, content types and bodies as the schema
declares them; every error in the JSON error shape {"error": {"code", "message"}}.

Failures are collected over the whole run and reported together (operation, mode, check,
the request as curl), so one run shows every finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness.conftest import HarnessWorld

pytestmark = [pytest.mark.harness, pytest.mark.integration, pytest.mark.timeout(600)]

EXAMPLES_PER_OPERATION = 5
STATEFUL_STEPS = 20


@schemathesis.check
def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx answer of the API is {"error": {"code": snake_case, "message": str, …}}."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"error body is not JSON: {response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"no error object: {body!r}"[:300]
    code, message = error.get("code"), error.get("message")
    assert isinstance(code, str) and code and code.replace("_", "").isalnum(), f"code: {code!r}"
    assert code == code.lower(), f"code not snake_case: {code!r}"
    assert isinstance(message, str) and message, f"message: {message!r}"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_shape,
]


@dataclass
class Findings:
    cases: int = 0
    by_key: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, label: str, error: BaseException, case: Any) -> None:
        text = str(error).strip()
        if isinstance(error, BaseExceptionGroup):
            text += "\n" + "\n".join(str(inner) for inner in error.exceptions)
        first = text.splitlines()[0][:200] if text else repr(error)
        key = (label, first)
        if key not in self.by_key:
            curl = case.as_curl_command()[:600] if case is not None else ""
            self.by_key[key] = f"{label}: {text[:1500]}\n  {curl}"

    def report(self) -> str:
        return "\n\n".join(self.by_key.values())


def credentials_for(operation: Any, world: HarnessWorld) -> dict[str, str]:
    """The Authorization header the operation's security names (none when it names none)."""
    schemes = {
        "readerToken": f"Reader {world.reader_token}",
        "publisherApiKey": f"Bearer {world.api_key}",
        "accessGrant": f"Bearer {world.grant}",
    }
    for requirement in operation.definition.raw.get("security") or []:
        for name in requirement:
            if name in schemes:
                return {"Authorization": schemes[name]}
    return {}


def load_schema(world: HarnessWorld) -> Any:
    schema = schemathesis.openapi.from_url(f"{world.server.url}/api/schema/?format=json")
    schema.config.base_url = world.server.url
    return schema


def run_operation(
    operation: Any,
    *,
    headers: dict[str, str],
    mode: GenerationMode,
    session: requests.Session,
    base_url: str,
    findings: Findings,
    path_parameters: dict[str, str],
) -> None:
    wanted = {
        name: value
        for name, value in path_parameters.items()
        if name in {p.name for p in operation.path_parameters}
    }
    strategy = operation.as_strategy(
        generation_mode=mode, headers=headers, path_parameters=wanted or None
    )

    @given(case=strategy)
    @hsettings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: Any) -> None:
        findings.cases += 1
        try:
            response = case.call(base_url=base_url, session=session, timeout=30)
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            findings.add(f"{operation.label} [{mode.value}]", exc, case)

    try:
        probe()
    except Unsatisfiable:
        # Negative mode on an operation with nothing to violate (no parameters, no body).
        assert mode is GenerationMode.NEGATIVE, operation.label
    except (Exception, BaseExceptionGroup) as exc:
        findings.add(f"{operation.label} [{mode.value}]", exc, None)


def run_schema(world: HarnessWorld, *, credentials: bool, fixed_ids: bool) -> Findings:
    schema = load_schema(world)
    findings = Findings()
    session = requests.Session()
    path_parameters = {"pub": world.publisher_key, "slug": world.article} if fixed_ids else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, len(operations)
    for operation in operations:
        headers = {"Origin": world.origin, "X-Dropgate-Publisher": world.publisher_key}
        if credentials:
            headers.update(credentials_for(operation, world))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run_operation(
                operation,
                headers=headers,
                mode=mode,
                session=session,
                base_url=world.server.url,
                findings=findings,
                path_parameters=path_parameters,
            )
    return findings


def _assert_clean(findings: Findings, world: HarnessWorld, what: str) -> None:
    print(f"\n{what}: {findings.cases} cases, {len(findings.by_key)} distinct findings")
    assert world.server.alive(), world.server.log()[-3000:]
    errors = [line for line in world.server.log().splitlines() if "Error" in line][-40:]
    assert not findings.by_key, (
        f"{len(findings.by_key)} findings:\n\n{findings.report()}\n\nserver log:\n"
        + "\n".join(errors)
    )


@pytest.mark.parametrize("credentials", [False, True], ids=["anonymous", "credentials"])
def test_every_operation_answers_as_the_schema_says(
    harness_world: HarnessWorld, credentials: bool
) -> None:
    findings = run_schema(harness_world, credentials=credentials, fixed_ids=credentials)
    _assert_clean(findings, harness_world, f"schema run, credentials={credentials}")


def test_stateful_links(harness_world: HarnessWorld) -> None:
    schema = load_schema(harness_world)
    machine_class = schema.as_state_machine()
    world = harness_world
    findings = Findings()
    session = requests.Session()

    class Machine(machine_class):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            headers = {"Origin": world.origin, "X-Dropgate-Publisher": world.publisher_key}
            headers.update(credentials_for(case.operation, world))
            return {"headers": headers, "session": session, "base_url": world.server.url}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            findings.cases += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                findings.add(f"{case.operation.label} [stateful]", exc, case)

    Machine.run(
        settings=hsettings(
            max_examples=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            stateful_step_count=6,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    _assert_clean(findings, world, "stateful run")
