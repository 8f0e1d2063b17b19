"""Citizens' contact details checked and normalised: phone numbers (phonenumbers, Vietnam by
default) and e-mail addresses (email-validator, syntax only: no DNS lookup on a request)."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "VN"


def phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 (+84912345678), or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(raw: str) -> str | None:
    """The address in its normal form, or None when it is not a deliverable-looking address."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
