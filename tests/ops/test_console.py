"""The admin's front page: the operations console for a superuser, platform staff and a
publisher's staff; every tile's link opens its queue showing the tile's count; few queries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from channels_app.keys.services import payouts_pause
from paywall.models import Publisher
from tests.admin_support import admin_client, staff_user
from tests.ops.conftest import at_now

pytestmark = pytest.mark.django_db

PLATFORM_TILES = {
    "ops-settlement",
    "ops-watchtower",
    "ops-fraud",
    "ops-keys",
    "ops-disputes",
    "ops-sar",
}
PUBLISHER_TILES = {"ops-unlocks", "ops-holds", "ops-payouts"}
# Tile figure → the console link that opens its queue.
QUEUES = {
    "unlocks-today": "unlocks_today",
    "unlocks-month": "unlocks_month",
    "open-alerts": "alerts",
    "fraud-open": "fraud_cases",
    "holds": "holds",
    "payouts": "payouts",
    "keys-due": "keys",
    "disputes-open": "disputes",
    "sar-open": "sar",
}


class Page(HTMLParser):
    """What a test reads off the console: its tiles, its figures, its charts' bars, and
    whether anything inline would break the Content-Security-Policy."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tiles: set[str] = set()
        self.figures: dict[str, str] = {}
        self.bars: dict[str, list[dict[str, str]]] = {}
        self.inline: list[str] = []
        self._figure: str | None = None
        self._chart: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "section" and attributes.get("id", "").startswith("ops-"):
            self.tiles.add(attributes["id"])
        if "data-figure" in attributes:
            self._figure = attributes["data-figure"]
            self.figures[self._figure] = ""
        if tag == "figure" and "ops-chart" in attributes.get("class", ""):
            self._chart = attributes["id"]
            self.bars[self._chart] = []
        if tag == "rect" and self._chart:
            self.bars[self._chart].append(attributes)
        if tag == "script" and "src" not in attributes:
            self.inline.append("script")
        if "style" in attributes or tag == "style":
            self.inline.append(f"style on {tag}")
        if any(name.startswith("on") for name in attributes):
            self.inline.append(f"handler on {tag}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._chart = None
        if self._figure and tag in ("span", "dd", "p"):
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._figure:
            self.figures[self._figure] += data


def console(client: Client) -> tuple[Page, dict[str, str]]:
    with at_now():
        response = client.get("/admin/")
    assert response.status_code == 200
    return Page(response.content.decode()), response.context["console"].links


def queue_count(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    assert "e=1" not in response.get("Location", ""), url  # an unknown filter
    return int(response.context["cl"].result_count)


def publisher_staff(publisher: Publisher | None) -> User:
    """A publisher's staff user with every view permission (bar platform staff's); with
    None, staff of no publisher."""
    user = User.objects.create_user("editor", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__startswith="view_").exclude(
            codename="view_all_publishers"
        )
    )
    if publisher is not None:
        publisher.users.add(user)
    return user


def test_a_superuser_sees_every_tile_and_each_count_is_its_queues(busy) -> None:
    client = admin_client(staff_user("root", superuser=True))
    page, links = console(client)

    assert page.tiles == PLATFORM_TILES | PUBLISHER_TILES
    assert page.figures["unlocks-today"] == "3"
    assert page.figures["unlocks-month"] == "4"
    assert page.figures["watchtower"].startswith("Unhealthy: ")
    assert "critical_alerts_open" in page.figures["watchtower"]
    assert "17 Dec 2026" in page.figures["next-deadline"]
    for figure, queue in QUEUES.items():
        assert queue_count(client, links[queue]) == int(page.figures[figure]), figure
    assert page.inline == []


def test_the_charts_have_a_bar_per_hour_and_per_day_and_text_values(busy) -> None:
    client = admin_client(staff_user("root", superuser=True))
    with at_now():
        html = client.get("/admin/").content.decode()
    page = Page(html)

    hourly, daily = page.bars["unlocks-per-hour"], page.bars["revenue-per-day"]
    assert len(hourly) == 24 and len(daily) == 30
    assert [float(bar["height"]) > 0 for bar in hourly].count(True) == 3
    assert daily[-1]["data-value"] == "600000" and float(daily[-1]["height"]) > 0
    # the tallest bar is today's, a third of it the day with one unlock
    assert float(daily[-1]["height"]) == pytest.approx(3 * float(daily[-3]["height"]), rel=0.01)
    # readable as text: the SVG's title and description, each bar's title, the table
    assert '<title id="revenue-per-day-title">Revenue per day, last 30 days</title>' in html
    assert "In total 1 XRP; the most, 0.6 XRP, at 15 Dec." in html
    assert "<title>12:00: 1</title>" in html
    assert re.search(r"<th scope=\"row\">15 Dec</th><td>0\.6 XRP</td>", html)


def test_money_is_xrp_with_the_drops_beside_it(busy) -> None:
    client = admin_client(staff_user("root", superuser=True))
    with at_now():
        html = client.get("/admin/").content.decode()
    assert '<data class="ops-money" value="600000" title="600,000 drops">0.6 XRP</data>' in html
    assert '<data class="ops-money" value="5000000" title="5,000,000 drops">5 XRP</data>' in html


def test_platform_staff_see_the_tiles_of_the_models_they_may_view(busy) -> None:
    staff = staff_user(
        "operator",
        perms=(
            "paywall.view_all_publishers",
            "paywall.view_unlock",
            "channels_app.view_channel",
            "disputes.view_dispute",
            "compliance.view_sarcase",
        ),
    )
    client = admin_client(staff)
    page, links = console(client)

    assert page.tiles == {
        "ops-unlocks",
        "ops-settlement",
        "ops-watchtower",
        "ops-disputes",
        "ops-sar",
    }
    assert page.figures["unlocks-today"] == "3"  # every publisher's
    assert "alerts" not in links  # no view of the alerts: no link to them
    assert queue_count(client, links["sar"]) == 1


def test_a_publishers_staff_see_their_own_figures_and_no_platform_tile(busy) -> None:
    client = admin_client(publisher_staff(busy.mine))
    page, links = console(client)

    assert page.tiles == PUBLISHER_TILES
    assert (page.figures["unlocks-today"], page.figures["unlocks-month"]) == ("2", "3")
    assert (page.figures["holds"], page.figures["payouts"]) == ("1", "1")
    for figure in ("unlocks-today", "unlocks-month", "holds", "payouts"):
        assert queue_count(client, links[QUEUES[figure]]) == int(page.figures[figure]), figure
    # only their unlocks are drawn: two today, one on 13 Dec, one on 25 Nov
    assert [
        bar["data-value"] for bar in page.bars["revenue-per-day"] if bar["data-value"] != "0"
    ] == [
        "200000",
        "200000",
        "400000",
    ]


def test_only_platform_staff_are_told_that_payouts_are_paused(busy) -> None:
    payouts_pause(reason="compromise drill", actor="test")
    editor = admin_client(publisher_staff(busy.mine))
    root = admin_client(staff_user("root", superuser=True))
    assert "Payouts are paused" not in editor.get("/admin/").content.decode()
    assert "Payouts are paused" in root.get("/admin/").content.decode()


def test_staff_of_no_publisher_see_zeros(busy) -> None:
    page, _links = console(admin_client(publisher_staff(None)))
    assert (page.figures["unlocks-today"], page.figures["holds"]) == ("0", "0")


def test_the_console_costs_few_queries(busy, django_assert_max_num_queries) -> None:
    root = admin_client(staff_user("root", superuser=True))
    editor = admin_client(publisher_staff(busy.mine))
    root.get("/admin/")  # warm: the content types
    # The session, the user and the device; the console's 13 (unlocks 3, the watchtower 3,
    # fraud, holds, payouts and their pause, keys, disputes, SAR); recent actions. None of
    # them grows with the rows.
    with at_now(), django_assert_max_num_queries(17):
        assert root.get("/admin/").status_code == 200
    # The session, the user and the device, the permissions (2), the publisher scope; the
    # unlocks (3), holds, payouts; recent actions.
    with at_now(), django_assert_max_num_queries(12):
        assert editor.get("/admin/").status_code == 200


def test_the_apps_have_human_names(db) -> None:
    page = admin_client(staff_user("root", superuser=True)).get("/admin/").content.decode()
    for name in ("Payment channels", "Fraud", "Payouts", "Paywall", "Disputes", "Compliance"):
        assert f'class="section" title="Models in the {name} application">{name}</a>' in page
    assert "Channels_App" not in page


def test_a_password_only_session_is_sent_to_the_second_factor(busy) -> None:
    client = admin_client(staff_user("root", superuser=True), verified=False)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_console_with_nothing_to_show_leaves_the_model_list(db) -> None:
    # staff with no view of any console model (the users admin only)
    client = admin_client(staff_user("clerk", perms=("auth.view_user",)))
    response = client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="ops-console-heading"' not in page
    assert "Users" in page
