"""Seed the demo: an admin login, the demo publisher and its articles. Safe to run every time.

Prints one JSON line: {"publisher", "admin_user", "admin_password", "admin_otp_secret",
"admin_otp_uri", "admin_otp_code"}. The admin password and its TOTP device (the admin's second
factor) are new on every run (the previous ones stop working), so neither is kept in a file.
Demo only: a real deployment enrols each staff user's device with `staff_otp_enrol`.
"""

from __future__ import annotations

import json
import secrets
from base64 import b32encode
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from channels_app import clock
from compliance.services.fx import fx_rate_record
from paywall.models import Publisher
from paywall.services.articles import article_upsert
from paywall.services.pricing import exchange_rate_set
from paywall.services.publishers import publisher_create, publisher_update
from paywall.types import Price
from scripts.demo_content import ARTICLES

DEMO_PUBLISHER_KEY = "pub_demoDailyDrop"
ADMIN_USER = "admin"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site-origin", required=True)

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        origin = options["site_origin"]
        publisher = Publisher.objects.filter(key=DEMO_PUBLISHER_KEY).first()
        if publisher is None:
            publisher = publisher_create(
                name="The Daily Drop", allowed_origins=[origin], key=DEMO_PUBLISHER_KEY
            )
        elif origin not in publisher.allowed_origins:
            publisher = publisher_update(
                publisher=publisher, allowed_origins=[*publisher.allowed_origins, origin]
            )
        for article in ARTICLES:
            article_upsert(
                publisher=publisher,
                slug=article.slug,
                title=article.title,
                price=Price(drops=article.price_drops),
                body_html=article.body_html,
            )
        exchange_rate_set(
            currency="USD",
            rate=Decimal("0.50"),
            source="demo: fixed illustrative rate, not a market price",
        )
        # Compliance converts drops to EUR (the anonymous reader limit, receipts, tax returns)
        # at a recorded XRP rate with its source.
        fx_rate_record(
            base="XRP",
            quote="EUR",
            rate=Decimal("0.46"),
            as_of=clock.now().date(),
            source="demo: fixed illustrative rate, not a market price",
        )
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=ADMIN_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
        self.stdout.write(
            json.dumps(
                {
                    "publisher": publisher.key,
                    "admin_user": ADMIN_USER,
                    "admin_password": password,
                    "admin_otp_secret": b32encode(device.bin_key).decode(),
                    "admin_otp_uri": device.config_url,
                    "admin_otp_code": f"{totp(device.bin_key):06d}",
                }
            )
        )
