"""Contact details on submission: phone (phonenumbers) and e-mail (email-validator), all errors at once."""

from __future__ import annotations

from sqlalchemy import select

from fieldreport.extensions import db
from fieldreport.models import Report
from tests.api.intake_helpers import submit


def test_bad_phone_and_email_are_refused_together(client):
    r = submit(client, reporter_name="Nguyễn Văn", reporter_phone="abc", reporter_email="nguyenvan@gmail")
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json" and r.json["code"] == "validation_error"
    fields = {k for location in r.json["errors"].values() for k in location}
    assert {"reporter_phone", "reporter_email"} <= fields  # both at once, not one at a time


def test_valid_contact_is_kept_normalised(client):
    r = submit(client, reporter_name="Nguyễn Văn", reporter_phone="0912 345 678", reporter_email="NguyenVan@Gmail.com")
    assert r.status_code == 201, r.json
    report = db.session.scalar(select(Report).where(Report.code == r.json["code"]))
    assert report.reporter_phone == "+84912345678"
    assert report.reporter_email == "NguyenVan@gmail.com"  # the domain part is case-insensitive


def test_empty_contact_fields_are_absent(client):
    r = submit(client, reporter_phone="", reporter_email="")
    assert r.status_code == 201, r.json
    report = db.session.scalar(select(Report).where(Report.code == r.json["code"]))
    assert report.reporter_phone is None and report.reporter_email is None
