"""POST requests: GeoReport form fields → the intake service the mobile API uses.

Everything a report needs checked (category, attributes, text limits, photos, the service
area, idempotency) and written (media_url, a location found from address_string: in the
report's one transaction) is intake's job; this module only translates the spec's field names.
"""

from __future__ import annotations

from werkzeug.datastructures import FileStorage, MultiDict

from fieldreport.errors import Invalid, Unprocessable
from fieldreport.models import ApiKey
from fieldreport.open311 import params, statuses
from fieldreport.services import apikeys, communes, intake, photos, privacy


def _location(form: MultiDict) -> tuple[float, float, float | None, communes.Place | None]:
    lat = params.coordinate(form, "lat", -90, 90)
    lon = params.coordinate(form, "long", -180, 180)
    if (lat is None) != (lon is None):
        raise Unprocessable("coordinates_incomplete", "Send both lat and long.", "Cần gửi cả lat và long.")
    if lat is not None and lon is not None:  # both or neither (above)
        return lat, lon, None, None
    address = params.arg(form, "address_string")
    if address:
        place = communes.from_address(address)
        return place.lat, place.lon, place.accuracy_m, place
    if params.arg(form, "address_id"):
        raise Invalid(
            "address_id_unsupported",
            "address_id cannot be resolved here; send lat and long or address_string.",
            "Không tra được address_id; vui lòng gửi lat và long hoặc address_string.",
        )
    raise Unprocessable(
        "location_required",
        "A location is required: lat and long, or address_string.",
        "Cần vị trí: lat và long, hoặc address_string.",
    )


def _name(form: MultiDict) -> str | None:
    parts = [params.arg(form, "first_name"), params.arg(form, "last_name")]
    return " ".join(p for p in parts if p) or None


def create(
    key: ApiKey, form: MultiDict, files: list[FileStorage], *, idempotency_key: str | None, client_ip: str, vi: bool
) -> dict:
    """Submit through intake; answer the spec's request row (service_request_id, notice)."""
    province = params.jurisdiction(form)  # the point must then fall in that province (intake checks)
    category = params.service_category(params.arg(form, "service_code"))
    lat, lon, accuracy, place = _location(form)
    media_url = params.url(form, "media_url")  # the client's own link to its photo
    receipt = intake.submit(
        intake.Submission(
            category=category.code,
            lat=lat,
            lon=lon,
            accuracy_m=accuracy,
            description=params.arg(form, "description"),
            address_hint=params.arg(form, "address_string"),
            reporter_name=_name(form),
            reporter_phone=params.arg(form, "phone"),
            reporter_email=params.arg(form, "email"),
            attributes=params.form_attributes(category, form),
            photos=photos.read_files(files),  # the v2.1 draft's `media` uploads
            idempotency_key=idempotency_key,
            client_ip=client_ip,
            channel=apikeys.channel(key),
            per_ip_limit=False,
            # The client app shows its own notice and collects consent under its API-key terms.
            notice_version=privacy.OPEN311_NOTICE,
            contact_consent=True,
            province=province,
            media_url=media_url,
            location_source="address" if place is not None else None,
        )
    )
    code = receipt.body["code"]
    return {"service_request_id": code, "service_notice": statuses.notice(category, vi), "account_id": None}
