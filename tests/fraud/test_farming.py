"""Account farming: a cluster of readers sharing devices, a funding account and a network is
found and its revenue held per publisher; ordinary sharing (a family device, a couple's wallet,
an office or a carrier NAT) is not; reruns do not duplicate cases or holds."""

from __future__ import annotations

import secrets

import pytest

from fraud.models.cases import FraudCase, FraudCaseEvent
from fraud.services.farming import farming_clusters, farming_scan
from tests.fraud.test_cases import (
    active_holds,
    make_decision,
    make_payer,
    make_session,
    new_address,
)

pytestmark = pytest.mark.django_db

PUB = "pub_farmed"
OTHER_PUB = "pub_second"


def normal_population(count: int = 30) -> list[str]:
    """Ordinary readers with the kinds of sharing real people have."""
    readers = []
    office, nat = secrets.token_hex(32), secrets.token_hex(32)
    family_device = secrets.token_hex(32)
    couple_wallet = new_address()
    for n in range(count):
        network = office if n < 6 else nat if n < 21 else None
        fingerprint = family_device if n in (0, 1) else None
        payer = make_payer(source_address=couple_wallet if n in (2, 3) else None)
        session = make_session(
            PUB, reader_ref=payer.reader_ref, fingerprint=fingerprint, network=network
        )
        make_decision(session, publisher_ref=PUB, reader_ref=payer.reader_ref, article_ref="news")
        payer.pay(PUB, 100_000)
        readers.append(payer.reader_ref)
    return readers


def farm(size: int = 8, *, funding: str | None = None, devices: list[str] | None = None):
    """Readers run by one operator: two browser profiles, one wallet, one network."""
    funding = funding or new_address()
    devices = devices or [secrets.token_hex(32), secrets.token_hex(32)]
    network = secrets.token_hex(32)
    payers = []
    for n in range(size):
        payer = make_payer(source_address=funding)
        session = make_session(
            PUB, reader_ref=payer.reader_ref, fingerprint=devices[n % 2], network=network
        )
        make_decision(session, publisher_ref=PUB, reader_ref=payer.reader_ref, article_ref="promo")
        payer.pay(PUB, 200_000)
        if n < 3:
            payer.pay(OTHER_PUB, 50_000)
        payers.append(payer)
    return payers, funding, devices


def test_ordinary_sharing_is_no_farm() -> None:
    normal_population()
    assert farming_clusters() == []
    report = farming_scan()
    assert report.case_ids == [] and not FraudCase.objects.exists()
    assert not active_holds(PUB)


def test_a_farm_is_clustered_and_its_revenue_held_per_publisher() -> None:
    # given ordinary readers and a farm of 8 accounts
    normal = normal_population()
    payers, funding, _devices = farm()
    farm_readers = sorted(p.reader_ref for p in payers)
    # when the detector runs
    report = farming_scan()
    # then exactly the farm is one cluster, linked by its devices and its wallet
    (cluster,) = report.clusters
    assert list(cluster.readers) == farm_readers
    assert set(cluster.shared) >= {"fingerprint", "funding"}
    assert not set(cluster.readers) & set(normal)
    # and each publisher it paid has a case holding exactly that revenue
    cases = {case.publisher_ref: case for case in FraudCase.objects.all()}
    assert set(cases) == {PUB, OTHER_PUB}
    for publisher, case in cases.items():
        expected = sum(p.paid.get(publisher, 0) for p in payers)
        assert (case.kind, case.status, case.held_drops) == ("account_farming", "holding", expected)
        assert [h.amount_drops for h in active_holds(publisher)] == [expected]
        assert sorted(case.reader_refs) == farm_readers
        evidence = case.evidence[0]
        assert evidence["readers"] == 8 and evidence["revenue_drops"] == expected
        assert {"value": funding[:16], "readers": 8} in evidence["shared"]["funding"]
    assert 0.5 < cases[PUB].score <= 1


def test_rerun_is_idempotent_and_growth_extends_the_same_case() -> None:
    payers, funding, devices = farm()
    first = farming_scan()
    events = FraudCaseEvent.objects.count()
    holds = [(h.pk, h.amount_drops) for h in active_holds(PUB)]
    # a rerun over the same data changes nothing
    again = farming_scan()
    assert sorted(set(again.case_ids)) == sorted(set(first.case_ids))
    assert FraudCase.objects.count() == 2 and FraudCaseEvent.objects.count() == events
    assert [(h.pk, h.amount_drops) for h in active_holds(PUB)] == holds
    # a new account joins the farm and pays: the same case grows by its revenue only
    newcomer = farm(1, funding=funding, devices=devices)[0][0]
    farming_scan()
    case = FraudCase.objects.get(publisher_ref=PUB)
    assert FraudCase.objects.filter(publisher_ref=PUB).count() == 1
    assert newcomer.reader_ref in case.reader_refs
    expected = sum(p.paid[PUB] for p in payers) + newcomer.paid[PUB]
    assert case.held_drops == expected
    assert [h.amount_drops for h in active_holds(PUB)] == [expected]


def test_a_network_with_few_devices_is_a_farm_even_with_separate_wallets(settings) -> None:
    settings.DROPGATE_FARMING_NETWORK_MIN_READERS = 6
    network = secrets.token_hex(32)
    devices = [secrets.token_hex(32) for _ in range(3)]  # 3 devices, 7 readers
    readers = []
    for n in range(7):
        payer = make_payer()
        make_session(PUB, reader_ref=payer.reader_ref, fingerprint=devices[n % 3], network=network)
        readers.append(payer.reader_ref)
    # the same shape with a device per reader is an office, not a farm
    office = secrets.token_hex(32)
    for _ in range(7):
        make_session(PUB, reader_ref=make_payer().reader_ref, network=office)
    (cluster,) = farming_clusters()
    assert sorted(cluster.readers) == sorted(readers)
    assert "network" in cluster.shared
    # no revenue yet: a case without a hold
    farming_scan()
    case = FraudCase.objects.get()
    assert (case.status, case.held_drops) == ("open", 0) and not active_holds(PUB)


@pytest.mark.integration
def test_the_scan_task_runs_on_a_real_worker(celery_worker_process) -> None:
    from fraud.tasks import farming_scan as farming_scan_task
    from tests.fixtures.worker import wait_until

    payers, _funding, _devices = farm(6)
    farming_scan_task.delay()
    case = wait_until(lambda: FraudCase.objects.filter(publisher_ref=PUB).first(), timeout=60)
    assert case.kind == "account_farming" and len(case.reader_refs) == 6
    assert case.held_drops == sum(p.paid[PUB] for p in payers)
    # a second delivery of the task changes nothing
    events = FraudCaseEvent.objects.count()
    farming_scan_task.delay()
    wait_until(
        lambda: (
            "fraud.tasks.farming_scan" in celery_worker_process.log_text()
            and celery_worker_process.log_text().count("succeeded") >= 2
        ),
        timeout=60,
    )
    assert FraudCaseEvent.objects.count() == events
    assert [h.amount_drops for h in active_holds(PUB)] == [case.held_drops]
