"""The admin site: staff sign in with a password and a TOTP code (django-otp).

Every admin page needs a session verified by the user's TOTP device; a staff user without one
cannot sign in at all. Devices are enrolled by an operator with `manage.py staff_otp_enrol`,
which prints the otpauth URI once; the device is confirmed by the first sign-in that gives a
code from it. A user has one device, so the form uses it without asking which.

The third-party admins the project shows are re-registered as platform rows in
paywall.admin_platform.
"""

from __future__ import annotations

from typing import Any

from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice


class DropgateAdminAuthenticationForm(OTPAdminAuthenticationForm):
    """Password, then the code of the user's one TOTP device (confirmed on first use)."""

    def _chosen_device(self, user: Any) -> Any:
        chosen = super()._chosen_device(user)
        if chosen is not None:
            return chosen
        # Called inside clean_otp's transaction: lock the device as django-otp does.
        devices = list(TOTPDevice.objects.select_for_update().filter(user_id=user.pk)[:2])
        return devices[0] if len(devices) == 1 else None

    def _verify_token(self, user: Any, token: str, device: Any = None) -> Any:
        verified = super()._verify_token(user, token, device)
        if not verified.confirmed:
            # The first code from an enrolled device proves the user holds it.
            verified.confirmed = True
            verified.save(update_fields=["confirmed"])
        return verified


class DropgateAdminSite(OTPAdminSite):
    site_header = "Dropgate administration"
    site_title = "Dropgate admin"
    index_title = "Dropgate"
    login_form = DropgateAdminAuthenticationForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
