"""Every door of the Django admin, walked against a view-only staff user.

The cases are generated from the live admin registry: every action of every registered
ModelAdmin (the site-wide `delete_selected` included) is a case of its own, so an action added
later without `permissions=` fails here without anyone having to remember this file. Views
beyond the standard changelist/add/change/delete/history pages fail
`test_no_admin_door_is_left_unwalked` until a test here covers them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from channels_app.models import WatchtowerAlert
from channels_app.payouts.models import Payout, PayoutBatch, PayoutHold, TxState
from fraud.services.cases import case_open
from tests.admin_support import admin_client
from tests.channels_app.factories import claim_key, make_channel
from tests.paywall.factories import make_api_key, make_publisher

pytestmark = pytest.mark.django_db


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _every_action() -> list[tuple[type[models.Model], str]]:
    cases = []
    for model, model_admin in admin.site._registry.items():
        for _func, name, _description in model_admin._get_base_actions():
            cases.append((model, name))
    return sorted(cases, key=lambda case: (_label(case[0]), case[1]))


EVERY_ACTION = _every_action()

# The permission that lets a user run each money or key action (besides viewing the rows).
ACTION_PERMISSIONS = {
    ("payouts.payouthold", "release"): "payouts.release_payouthold",
    ("payouts.payout", "cancel"): "payouts.cancel_payout",
    ("payouts.payout", "approve_as_signer_1"): "payouts.approve_payout",
    ("channels_app.channel", "settle_now"): "channels_app.settle_channel",
    ("channels_app.watchtoweralert", "mark_resolved"): "channels_app.change_watchtoweralert",
    ("paywall.publisherapikey", "revoke"): "paywall.revoke_publisherapikey",
}


def view_only_staff() -> User:
    """Staff who may look at everything and change nothing: every view_* permission."""
    user = User.objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


def as_request(user: User, *, verified: bool = True) -> Any:
    """A request by `user`, their session verified by a second factor (or not)."""
    request = RequestFactory().get("/admin/")
    user.is_verified = lambda: verified  # what django-otp's middleware installs
    request.user = user
    return request


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every model the admin shows."""
    return {
        _label(model): list(model._default_manager.order_by("pk").values())
        for model in admin.site._registry
    }


@pytest.fixture
def rows(db) -> None:
    """A row for each action to aim at: a hold, a queued payout, a channel with an open
    alert, an API key, a fraud case holding revenue and a periodic task."""
    publisher = make_publisher()
    make_api_key(publisher)
    PayoutHold.objects.create(publisher_ref=publisher.key, reason="fraud review")
    batch = PayoutBatch.objects.create(key="b1", cutoff="2026-01-01T00:00:00Z", holdback_seconds=0)
    Payout.objects.create(
        batch=batch,
        publisher_ref=publisher.key,
        destination="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
        amount_drops=5_000_000,
        status=TxState.QUEUED,
    )
    channel = make_channel(key=claim_key())
    WatchtowerAlert.objects.create(channel=channel, level="critical", code="late", message="m")
    case_open(
        kind="account_farming",
        publisher_ref=publisher.key,
        subject="cluster:1",
        evidence={"source": "test"},
        hold_drops=1_000,
    )
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="payouts", task="paywall.tasks.run_payout_batch", interval=every
    )


def test_the_walk_covers_the_actions_the_review_found() -> None:
    walked = {(_label(model), name) for model, name in EVERY_ACTION}
    assert set(ACTION_PERMISSIONS) <= walked
    assert ("django_celery_beat.periodictask", "run_tasks") in walked


@pytest.mark.parametrize(
    ("model", "action"),
    EVERY_ACTION,
    ids=[f"{_label(model)}:{action}" for model, action in EVERY_ACTION],
)
def test_view_only_staff_can_neither_see_nor_run_an_action(
    model: type[models.Model], action: str, rows: None
) -> None:
    # Given staff who can view every model and nothing else
    viewer = view_only_staff()
    model_admin = admin.site._registry[model]
    client = admin_client(viewer)
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(changelist).status_code == 200

    # Then the action is not offered
    assert action not in model_admin.get_actions(as_request(viewer))

    # and posting it anyway, on every row, is refused and changes nothing
    before = snapshot()
    selected = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
    response = client.post(
        changelist, {"action": action, "_selected_action": selected, "index": "0"}, follow=True
    )
    assert response.status_code == 200
    # (Django answers "No action selected." when the user has other actions, and ignores the
    # post when they have none; an action that ran would have left its own message.)
    notes = {str(message) for message in response.context["messages"]}
    assert notes <= {"No action selected."}, notes
    assert snapshot() == before


@pytest.mark.parametrize(
    ("label", "action"),
    sorted(ACTION_PERMISSIONS),
    ids=[":".join(k) for k in sorted(ACTION_PERMISSIONS)],
)
def test_the_actions_permission_is_what_offers_it(label: str, action: str, rows: None) -> None:
    # Given staff who can view the model, with and then without the action's permission
    app_label, model_name = label.split(".")
    model = next(m for m in admin.site._registry if _label(m) == label)
    model_admin = admin.site._registry[model]
    perm_app, perm_codename = ACTION_PERMISSIONS[(label, action)].split(".")
    user = User.objects.create_user("operator", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label=app_label, codename=f"view_{model_name}")
        | Permission.objects.filter(content_type__app_label=perm_app, codename=perm_codename)
        | Permission.objects.filter(
            content_type__app_label="paywall", codename="view_all_publishers"
        )
    )

    def offered(*, verified: bool = True) -> bool:
        fresh = User.objects.get(pk=user.pk)  # permissions are cached per instance
        return action in model_admin.get_actions(as_request(fresh, verified=verified))

    assert offered()
    # not without a verified second factor, whatever the admin site in front of it does
    assert not offered(verified=False)
    # nor without the permission
    user.user_permissions.remove(
        Permission.objects.get(content_type__app_label=perm_app, codename=perm_codename)
    )
    assert not offered()


STANDARD_ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change")
STANDARD_SITE_VIEWS = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
}


# Admin views beyond the standard ones, each walked by a test below.
# name -> (url args, whether the view changes something)
CUSTOM_VIEWS: dict[str, tuple[tuple[Any, ...], bool]] = {
    "disputes_dispute_report": ((), False),
    "disputes_dispute_bundle": ((1,), False),
    "compliance_rulebook_current": ((), False),
    "compliance_rulebook_diff": (("a", "b"), False),
    "compliance_kyc_tier": ((1,), True),
    "compliance_taxreport_generate": ((), True),
    "compliance_taxreport_download": ((1, "json"), False),
    "compliance_sarcase_transition": ((1,), True),
    "compliance_sarcase_export": ((1, "json"), True),
    # the vault's signing page (an upload changes something) and a request's download
    "payouts_vaultaccount_signing": ((), True),
    "payouts_vaultaccount_signing_download": (("payout-1-1-1",), False),
}
WALKED_EXTRA_VIEWS = {"auth_user_password_change", *CUSTOM_VIEWS}


@pytest.fixture
def compliance_rows(rows: None) -> None:
    """A KYC record and a SAR case for the custom compliance pages to aim at."""
    from compliance.services.kyc import kyc_business_submit
    from compliance.services.sar import sar_open_or_extend

    kyc_business_submit(
        publisher_ref="pub_kyc",
        legal_name="L",
        address="A",
        country="DE",
        vat_id="DE136695976",
        actor="t",
    )
    sar_open_or_extend(
        rule_id="monitoring.shared_funding",
        subject_kind="funding",
        subject="rY",
        summary="s",
        evidence={},
    )


def _custom_url(name: str) -> str:
    from compliance.models import PublisherKyc, SarCase

    args, _changes = CUSTOM_VIEWS[name]
    pk = {"compliance_kyc_tier": PublisherKyc, "compliance_sarcase_transition": SarCase}
    pk["compliance_sarcase_export"] = SarCase
    if name in pk:
        args = (pk[name].objects.values_list("pk", flat=True).first(), *args[1:])
    return reverse(f"admin:{name}", args=args)


CHANGE_FORMS = {
    "compliance_kyc_tier": {"tier": "0", "reason": "walk"},
    "compliance_taxreport_generate": {"scheme": "OSS", "period": "2026-Q1"},
    "compliance_sarcase_transition": {"to_status": "investigating", "reason": "walk"},
    "compliance_sarcase_export": {},
    "payouts_vaultaccount_signing": {},
}


@pytest.mark.parametrize("name", sorted(n for n, (_a, changes) in CUSTOM_VIEWS.items() if changes))
def test_view_only_staff_cannot_use_a_custom_page_that_changes_something(
    name: str, compliance_rows: None
) -> None:
    client = admin_client(view_only_staff())
    url = _custom_url(name)
    before = snapshot()
    assert client.get(url).status_code == 403
    assert client.post(url, CHANGE_FORMS[name]).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(CUSTOM_VIEWS))
def test_publisher_staff_never_open_a_platform_page(
    name: str, compliance_rows: None, two_publishers: Any
) -> None:
    mine, _theirs = two_publishers
    editor = publisher_staff(
        mine,
        extra=(
            "compliance.change_publisherkyc",
            "compliance.add_taxreport",
            "compliance.change_sarcase",
            "disputes.decide_dispute",
        ),
    )
    client = admin_client(editor)
    url = _custom_url(name)
    before = snapshot()
    assert client.get(url).status_code == 403
    assert client.post(url, CHANGE_FORMS.get(name, {})).status_code == 403
    assert snapshot() == before


def test_a_password_only_session_opens_no_custom_page(compliance_rows: None) -> None:
    root = User.objects.create_superuser("root", "root@example.invalid", "pw-for-tests")
    client = admin_client(root, verified=False)
    for name in CUSTOM_VIEWS:
        assert client.get(_custom_url(name)).status_code in (302, 403), name


def test_view_only_staff_cannot_set_a_password(rows: None) -> None:
    viewer = view_only_staff()
    victim = User.objects.create_user("victim", password="old-password")
    client = admin_client(viewer)
    url = reverse("admin:auth_user_password_change", args=[victim.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"password1": "N3w-pass-phrase!", "password2": "N3w-pass-phrase!"})
    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.check_password("old-password")


def test_no_admin_door_is_left_unwalked() -> None:
    """A custom admin view (an approval page, a button) must come with its own test here."""
    extra = []
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        allowed = {prefix + view for view in STANDARD_ADMIN_VIEWS} | WALKED_EXTRA_VIEWS
        extra += [
            p.name for p in model_admin.get_urls() if p.name is not None and p.name not in allowed
        ]
    extra += [
        p.name
        for p in admin.site.get_urls()
        if getattr(p, "name", None) is not None and p.name not in STANDARD_SITE_VIEWS
    ]
    assert extra == []


# --- Own rows: a publisher's staff see their publishers' rows and no platform rows ----------


@pytest.fixture
def two_publishers(db) -> tuple[Any, Any]:
    mine, theirs = make_publisher(name="Mine"), make_publisher(name="Theirs")
    batch = PayoutBatch.objects.create(key="b2", cutoff="2026-01-01T00:00:00Z", holdback_seconds=0)
    for publisher in (mine, theirs):
        make_api_key(publisher)
        PayoutHold.objects.create(publisher_ref=publisher.key, reason=f"hold on {publisher.name}")
        Payout.objects.create(
            batch=batch,
            publisher_ref=publisher.key,
            destination="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
            amount_drops=5_000_000,
        )
    make_channel(key=claim_key())
    return mine, theirs


def publisher_staff(publisher: Any, *, extra: tuple[str, ...] = ()) -> User:
    """A publisher's staff user with every view permission (bar platform staff's) and `extra`."""
    user = User.objects.create_user("editor", password="pw-for-tests", is_staff=True)
    perms = Permission.objects.filter(codename__startswith="view_").exclude(
        codename="view_all_publishers"
    )
    for label in extra:
        app_label, codename = label.split(".")
        perms |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    user.user_permissions.set(perms)
    publisher.users.add(user)
    return user


def test_every_admin_declares_whose_rows_it_shows() -> None:
    from channels_app.adminkit import RowScopeMixin

    undeclared = [
        _label(model)
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, RowScopeMixin)
    ]
    assert undeclared == []


def test_publisher_staff_see_only_their_own_rows_in_every_admin(two_publishers) -> None:
    mine, _theirs = two_publishers
    editor = publisher_staff(mine)
    request = as_request(editor)
    seen: dict[str, set[str]] = {}
    for model, model_admin in admin.site._registry.items():
        rows = model_admin.get_queryset(request)
        lookup = model_admin.publisher_key_lookup
        if lookup is None:
            assert not rows.exists(), f"{_label(model)} shows platform rows to publisher staff"
        else:
            seen[_label(model)] = set(rows.values_list(lookup, flat=True))
            assert seen[_label(model)] <= {mine.key}, _label(model)
    # the rows exist, and they see their own
    for label in ("payouts.payouthold", "payouts.payout", "paywall.publisherapikey"):
        assert seen[label] == {mine.key}, label


def test_the_hold_admin_shows_a_publisher_their_holds_only(two_publishers) -> None:
    mine, theirs = two_publishers
    client = admin_client(publisher_staff(mine, extra=("payouts.release_payouthold",)))
    page = client.get("/admin/payouts/payouthold/").content.decode()
    assert "hold on Mine" in page and "hold on Theirs" not in page
    their_hold = PayoutHold.objects.get(publisher_ref=theirs.key)
    assert client.get(f"/admin/payouts/payouthold/{their_hold.pk}/change/").status_code == 302
    # and even given the permission, a publisher's staff never release a hold, not even theirs
    client.post(
        "/admin/payouts/payouthold/",
        {
            "action": "release",
            "_selected_action": [str(pk) for pk in PayoutHold.objects.values_list("pk", flat=True)],
        },
    )
    assert PayoutHold.objects.filter(released_at__isnull=True).count() == 2


def test_platform_staff_see_every_publisher_and_other_staff_none(two_publishers) -> None:
    mine, theirs = two_publishers
    hold_admin = admin.site._registry[PayoutHold]
    platform = User.objects.create_user("ops", password="pw-for-tests", is_staff=True)
    platform.user_permissions.set(
        Permission.objects.filter(codename__in=("view_payouthold", "view_all_publishers"))
    )
    refs = set(
        hold_admin.get_queryset(as_request(platform)).values_list("publisher_ref", flat=True)
    )
    assert refs == {mine.key, theirs.key}
    # staff who manage no publisher and are not platform staff see nothing
    nobody = User.objects.create_user("nobody", password="pw-for-tests", is_staff=True)
    nobody.user_permissions.set(Permission.objects.filter(codename="view_payouthold"))
    assert not hold_admin.get_queryset(as_request(nobody)).exists()
