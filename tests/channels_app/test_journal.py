"""The journal: balanced, idempotent, append-only (in the model and in the database)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from channels_app.models import JournalEntry, JournalLine
from channels_app.selectors import journal_balance
from channels_app.services.journal import UnbalancedEntry, credit, debit, journal_post


@pytest.mark.django_db
def test_balanced_entry_is_posted_once() -> None:
    postings = [debit("claims_receivable", 500, "C1"), credit("publisher_payable", 500, "pub_a")]
    first = journal_post(kind="claim_accepted", reference="claim:1", postings=postings)
    again = journal_post(kind="claim_accepted", reference="claim:1", postings=postings)
    assert first is not None and again is None
    assert JournalEntry.objects.count() == 1
    assert journal_balance("claims_receivable", "C1") == 500
    assert journal_balance("publisher_payable", "pub_a") == -500


@pytest.mark.django_db
def test_unbalanced_entry_is_refused_and_nothing_written() -> None:
    with pytest.raises(UnbalancedEntry):
        journal_post(
            kind="fee",
            reference="claim:2",
            postings=[debit("publisher_payable", 10, "pub_a"), credit("platform_fee_revenue", 9)],
        )
    assert JournalEntry.objects.count() == 0 and JournalLine.objects.count() == 0


@pytest.mark.django_db
def test_zero_postings_post_nothing() -> None:
    assert (
        journal_post(kind="fee", reference="claim:3", postings=[debit("a", 0), credit("b", 0)])
        is None
    )
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db
def test_models_refuse_update_and_delete() -> None:
    entry = journal_post(kind="fee", reference="claim:4", postings=[debit("a", 1), credit("b", 1)])
    assert entry is not None
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    line = entry.lines.first()
    with pytest.raises(ValueError, match="append-only"):
        line.save()


@pytest.mark.django_db
def test_database_refuses_updates_behind_the_models_back() -> None:
    journal_post(kind="fee", reference="claim:5", postings=[debit("a", 7), credit("b", 7)])
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalLine.objects.filter(account="a").update(debit_drops=70)
    with connection.cursor() as cursor, pytest.raises(DatabaseError), transaction.atomic():
        cursor.execute("UPDATE channels_app_journalentry SET memo = 'edited'")
    assert journal_balance("a") == 7
