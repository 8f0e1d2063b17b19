"""Test data in one small module: reports at a point, users, bearer tokens, photos, cleanup."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import delete, select

from fieldreport import geo, security
from fieldreport.models import AuthToken, Category, Event, Follower, Notification, Outbox, Photo, Report, Unit, User
from fieldreport.models.base import utcnow
from fieldreport.services import intake

BMT = (108.038, 12.667)  # Buôn Ma Thuột centre, commune 24133


def category(session, code: str) -> Category:
    return session.scalar(select(Category).where(Category.code == code))


def unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def make_report(session, category_code: str, lon: float, lat: float, **fields) -> Report:
    """A submitted report (not routed) with a random code and citizen token.

    The plain token is left on the object as `citizen_token` for X-Citizen-Token calls.
    Any column can be overridden: status, unit_id, due_at, reporter_email...
    """
    token = security.new_token()
    values = dict(
        code=intake.new_code(),
        citizen_token_hash=security.token_hash(token),
        category_id=category(session, category_code).id,
        status="submitted",
        description="test report",
        location=geo.point(lon, lat),
        channel="test",
    )
    values.update(fields)
    report = Report(**values)
    session.add(report)
    session.flush()
    report.citizen_token = token
    return report


def assign(session, report: Report, unit_code: str, status: str = "assigned") -> Report:
    """Hand the report to a unit as the router would, without running the routing job."""
    from fieldreport.services import workflow

    workflow.assign_unit(
        report, unit(session, unit_code), type_="assigned", status=status, actor="system:router", reason="rule"
    )
    session.flush()
    return report


def make_user(session, username: str, role: str, unit_code: str | None = None, password: str = "demo-password") -> User:
    u = User(
        username=username,
        full_name=username,
        role=role,
        active=True,
        unit_id=unit(session, unit_code).id if unit_code else None,
        password_hash=security.hash_password(password),
    )
    session.add(u)
    session.flush()
    return u


def token_for(session, username: str, minutes: int = 60, kind: str = "api") -> str:
    """A bearer token (or with kind="console", a console session id) for the user, without
    going through the (slow, rate-limited) login."""
    token = security.new_token()
    session.add(
        AuthToken(
            token_hash=security.token_hash(token),
            user_id=user(session, username).id,
            expires_at=utcnow() + timedelta(minutes=minutes),
            kind=kind,
        )
    )
    session.flush()
    return token


def bearer(session, username: str) -> dict:
    return {"Authorization": f"Bearer {token_for(session, username)}"}


def jpeg(width: int = 64, height: int = 48, color=(200, 120, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def purge_reports(session, ids) -> None:
    """Delete committed reports and everything hanging off them (tests with real commits)."""
    ids = list(ids)
    if not ids:
        return
    notes = session.scalars(select(Notification.id).where(Notification.report_id.in_(ids))).all()
    photos = session.scalars(select(Photo.id).where(Photo.report_id.in_(ids))).all()
    owned = {
        "workers.jobs.route_report": set(ids),
        "workers.jobs.deliver_notification": set(notes),
        "workers.jobs.make_derivatives": set(photos),
    }
    for row in session.scalars(select(Outbox).where(Outbox.func.in_(owned))).all():
        if row.args and row.args[0] in owned[row.func]:
            session.delete(row)
    session.execute(delete(Notification).where(Notification.report_id.in_(ids)))
    session.execute(delete(Event).where(Event.report_id.in_(ids)))
    session.execute(delete(Follower).where(Follower.report_id.in_(ids)))
    session.execute(delete(Photo).where(Photo.report_id.in_(ids)))
    session.execute(Report.__table__.update().where(Report.parent_id.in_(ids)).values(parent_id=None))
    session.execute(delete(Report).where(Report.id.in_(ids)))
    session.commit()
