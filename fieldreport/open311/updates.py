"""POST servicerequestupdates (mySociety): the spec's fields → one call of services/external_updates.py.

That service holds the rules (a key bound to a unit, a resolving status through the staff
workflow or else a public note, each update_id applied once) and commits once.
"""

from __future__ import annotations

from werkzeug.datastructures import FileStorage, MultiDict

from fieldreport.errors import Invalid
from fieldreport.models import ApiKey
from fieldreport.open311 import params
from fieldreport.services import external_updates

# mySociety's states (upper or lower case, spaces or underscores), and what each does here.
STATES = (
    "open",
    "closed",
    "fixed",
    "in_progress",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "planned",
    "reopen",
    "for_triage",
)
TEXT_MAX = 4000


def _required(form: MultiDict, name: str, limit: int) -> str:
    value = params.text(form, name, limit)
    if value is None:
        raise Invalid(f"{name}_missing", f"{name} is required.", f"Thiếu {name}.")
    return value


def _status(form: MultiDict) -> str:
    raw = _required(form, "status", 60).lower().replace(" ", "_").replace("-", "_")
    if raw not in STATES:
        raise Invalid(
            "invalid_status",
            f"Unknown status {raw!r}; use one of {', '.join(STATES)}.",
            f"Trạng thái {raw!r} không hợp lệ.",
        )
    return raw


def receive(key: ApiKey, form: MultiDict, files: list[FileStorage]) -> str:
    """Apply one update (once); answers our update_id, as GET servicerequestupdates lists it."""
    code = _required(form, "service_request_id", 40)
    update_id = _required(form, "update_id", 100)
    status = _status(form)
    description = params.text(form, "description", TEXT_MAX)
    updated = params.w3c_datetime(form, "updated_datetime")
    media_url = params.url(form, "media_url")
    province = params.jurisdiction(form)  # the report must then be of that province
    return external_updates.receive(
        key,
        external_updates.Update(
            code=code,
            update_id=update_id,
            status=status,
            description=description,
            updated=updated,
            media_url=media_url,
            files=files,
            province=province,
        ),
    )
