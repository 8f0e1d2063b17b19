"""Marshmallow schemas of the citizen report endpoints: submission, public views, listing, actions."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validates_schema,
)
from marshmallow.validate import Length, OneOf, Range, Regexp
from werkzeug.datastructures import FileStorage

from fieldreport import contact, inputs
from fieldreport.errors import Invalid
from fieldreport.models import STATUSES
from fieldreport.models.vocab import IntakeChannel
from fieldreport.services import public
from fieldreport.services.intake import TOKEN_RE
from fieldreport.services.privacy import NOTICE_VERSIONS

# The constraints the services enforce, stated here so the OpenAPI document carries them.
CITIZEN_TOKEN = Regexp(TOKEN_RE, error="32–128 URL-safe characters (A–Z, a–z, 0–9, _ and -).")
_STATUS = "|".join(("open", "closed", *STATUSES))
STATUS_LIST = Regexp(
    rf"^({_STATUS})(,({_STATUS}))*$", error=f"a comma list of: {', '.join(('open', 'closed', *STATUSES))}."
)
CURSOR_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
CURSOR = Regexp(CURSOR_RE, error="the next_cursor of a previous page.")


class Str(fields.String):
    """A string PostgreSQL can store: NUL characters are refused as invalid input."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not any(isinstance(v, Regexp) for v in self.validators):  # a Regexp states its own alphabet
            self.metadata = {"pattern": "^[^\\u0000]*$", **self.metadata}  # say so in the document

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("NUL characters are not allowed.")
        return text


class Phone(Str):
    """A phone number that phonenumbers accepts (Vietnam by default), kept in E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return ""  # an empty optional field, as an empty form input sends it
        number = contact.phone(text)
        if number is None:
            raise ValidationError("Not a valid phone number.")
        return number


class Email(Str):
    """An e-mail address with a valid syntax and domain (no DNS lookup), normalised."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return ""
        address = contact.email(text)
        if address is None:
            raise ValidationError("Not a valid email address.")
        return address


class PhotoFile(Upload):
    """A multipart file part; its type is sniffed from the bytes, never from its name."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("Not a file upload.")
        return value


_NUMBER = r"-?\d+(\.\d+)?"


class BBox(fields.Field):
    """minlon,minlat,maxlon,maxlat in WGS84 degrees.

    The shape is schema validation (and in the document); ranges and min < max are a rule
    the document cannot state, so they answer as a domain error (400 invalid_bbox).
    """

    def __init__(self, **kwargs):
        metadata = {"type": "string", "pattern": rf"^{_NUMBER}(,{_NUMBER}){{3}}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            box = tuple(float(v) for v in str(value).split(","))
        except ValueError:
            raise ValidationError("bbox is minlon,minlat,maxlon,maxlat") from None
        if len(box) != 4:
            raise ValidationError("bbox is minlon,minlat,maxlon,maxlat")
        if not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
            raise Invalid(
                "invalid_bbox",
                "bbox is minlon,minlat,maxlon,maxlat in degrees, with min < max.",
                "bbox là minlon,minlat,maxlon,maxlat (độ), với min < max.",
            )
        return box


class LocalDateTime(fields.Field):
    """An ISO date (midnight, local time) or an ISO date-time (local time when it has no offset)."""

    def __init__(self, **kwargs):
        metadata = {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        try:
            text = str(value)
            parsed = (
                datetime.combine(date.fromisoformat(text), time()) if len(text) == 10 else datetime.fromisoformat(text)
            )
        except ValueError:
            raise ValidationError("Not an ISO date or date-time.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


class ReportSubmitSchema(Schema):
    """A new report: multipart/form-data with `photos` files, or JSON referencing `upload_ids`."""

    class Meta:
        unknown = EXCLUDE

    category = Str(required=True, validate=Length(1, 40), metadata={"description": "category code"})
    lat = fields.Float(
        validate=Range(-90, 90),
        metadata={
            "description": "WGS84 latitude (required with lon; a photo's EXIF position is only offered "
            "back as suggested_location in the 422, never used unasked)"
        },
    )
    lon = fields.Float(validate=Range(-180, 180), metadata={"description": "WGS84 longitude"})
    accuracy_m = fields.Float(validate=Range(0, 100_000), metadata={"description": "GPS accuracy (m)"})
    description = Str(validate=Length(max=4000))
    address_hint = Str(validate=Length(max=500))
    reporter_name = Str(validate=Length(max=200), metadata={"description": "private"})
    reporter_phone = Phone(
        validate=Length(max=40),
        allow_none=True,
        metadata={"description": "private; a valid phone number (Vietnamese by default), stored in E.164"},
    )
    reporter_email = Email(
        validate=Length(max=240), allow_none=True, metadata={"description": "private; a valid e-mail address"}
    )
    location_source = Str(
        validate=OneOf(("device", "exif")),
        metadata={
            "description": '"exif" when the citizen chose the position read from their photo (offered, '
            "never taken unasked: without lat/lon, a 422 location_required carries it as "
            "suggested_location)"
        },
    )
    notice_version = Str(
        validate=OneOf(NOTICE_VERSIONS),
        metadata={
            "description": "the privacy notice your app showed (GET /api/v1/privacy-notice gives the current "
            "one); kept with the report. When sent, contact details need contact_consent"
        },
    )
    contact_consent = fields.Boolean(
        metadata={"description": "the reporter agreed that their contact details are used to handle this report"}
    )
    attributes = fields.Dict(
        keys=fields.String(),
        metadata={  # unknown codes are intake's 422
            "description": "category attributes by code; in a form, send attribute[code]=value"
        },
    )
    photos: fields.List = fields.List(
        PhotoFile(), metadata={"description": "0–PHOTO_MAX_COUNT JPEG/PNG/WebP/HEIC files"}
    )
    upload_ids = fields.List(
        Str(validate=Length(1, 40)), metadata={"description": "ids from POST /uploads whose photo was PUT"}
    )

    @pre_load
    def _form_attributes(self, data, **kwargs):
        # Open311 clients send attribute[code]=value form fields; OpenAPI clients send the
        # `attributes` object as a JSON part (the default encoding of an object in multipart).
        if not hasattr(data, "keys"):
            return data
        keys = [k for k in data.keys() if isinstance(k, str)]  # a nameless multipart part has None
        attrs = {k[10:-1]: data[k] for k in keys if k.startswith("attribute[") and k.endswith("]")}
        if not attrs and not isinstance(data.get("attributes"), str):
            return data
        out = {k: data[k] for k in keys if not k.startswith("attribute[")}
        given = out.get("attributes")
        if isinstance(given, str):
            try:
                given = inputs.loads(given)
            except ValueError:
                raise ValidationError("attributes must be a JSON object.", "attributes") from None
            if not isinstance(given, dict):
                raise ValidationError("attributes must be a JSON object.", "attributes")
        out["attributes"] = {**(given if isinstance(given, dict) else {}), **attrs}
        return out


class ReportJsonSchema(ReportSubmitSchema):
    """The JSON form of a submission (photos uploaded first, see POST /uploads)."""

    class Meta:
        exclude = ("photos",)
        unknown = EXCLUDE


class IntakeHeadersSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = Str(
        data_key="Idempotency-Key",
        validate=Regexp(r"^[!-~]{1,200}$", error="1–200 printable ASCII characters, no spaces (a UUID, say)."),
        metadata={"description": "a retry with the same key and body returns the first answer"},
    )
    citizen_token = Str(
        data_key="X-Citizen-Token",
        validate=CITIZEN_TOKEN,
        metadata={"description": "the app's citizen token: groups its reports, proves it is the reporter"},
    )
    client = Str(
        data_key="X-Client",
        load_default=IntakeChannel.APP,
        validate=OneOf((IntakeChannel.APP, IntakeChannel.WEB)),
        metadata={
            "description": "which citizen client sends it: the app (default) or the citizen web pages; "
            "the report's channel in the indicators (group_by=channel)"
        },
    )


class ReportLinksSchema(Schema):
    self = fields.String()
    track = fields.String()


class ReportLatLonSchema(Schema):
    lat = fields.Float()
    lon = fields.Float()


class ReportLocationSchema(ReportLatLonSchema):
    source = fields.String(metadata={"description": "device | exif"})


class ReportCreatedSchema(Schema):
    code = fields.String(metadata={"description": "public tracking code"})
    citizen_token = fields.String(metadata={"description": "secret: keep it to follow, rate, reopen"})
    status = fields.String()
    location = fields.Nested(ReportLocationSchema)
    links = fields.Nested(ReportLinksSchema)


class ReportUnitNameSchema(Schema):
    name = fields.String()


class ReportCodeNameSchema(ReportUnitNameSchema):
    code = fields.String()


class ReportPhotoSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "before | after"})
    width = fields.Integer()
    height = fields.Integer()
    ready = fields.Boolean(metadata={"description": "false until the worker made the public copies"})
    display_url = fields.String(
        allow_none=True,
        metadata={
            "description": "stable URL of the metadata-free copy (≤ 2048 px): a 302 to a fresh "
            "presigned GET URL; null until ready"
        },
    )
    thumb_url = fields.String(allow_none=True, metadata={"description": "the same for the 320 px copy"})


class ReportHistorySchema(Schema):
    type = fields.String()
    status = fields.String()
    at = fields.DateTime()
    note = fields.String(
        allow_none=True,
        metadata={
            "description": "words public by nature (the answer, an extension's apology, a rejection's "
            "reason in plain words; the unit's question and the reporter's own words "
            "for the reporter only); never a staff member's internal note"
        },
    )
    unit = fields.String(allow_none=True, metadata={"description": "the unit holding the report after this event"})
    due_at = fields.DateTime(allow_none=True, metadata={"description": "an extension's new date"})
    duplicate_of = fields.String(allow_none=True)


class ReportViewSchema(Schema):
    code = fields.String()
    status = fields.String()
    category = fields.Nested(ReportCodeNameSchema)
    description = fields.String(
        allow_none=True,
        metadata={"description": "null when the report was rejected as offensive or as a complaint/denunciation"},
    )
    address_hint = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    reject_reason_text = fields.String(allow_none=True, metadata={"description": "the rejection reason in plain words"})
    location = fields.Nested(ReportLatLonSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    area = fields.Nested(ReportCodeNameSchema, allow_none=True)
    unit = fields.Nested(ReportUnitNameSchema, allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    public_answer = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    followers_count = fields.Integer()
    photos = fields.List(fields.Nested(ReportPhotoSchema))
    history = fields.List(fields.Nested(ReportHistorySchema))


class ReportItemSchema(Schema):
    code = fields.String()
    status = fields.String()
    category = fields.Nested(ReportCodeNameSchema)
    location = fields.Nested(ReportLatLonSchema)
    created_at = fields.DateTime()
    followers_count = fields.Integer()
    thumb_url = fields.String(allow_none=True)


class NearbyItemSchema(ReportItemSchema):
    distance_m = fields.Float()
    description = fields.String(allow_none=True)
    unit = fields.Nested(ReportUnitNameSchema, allow_none=True)


class MyReportSchema(ReportItemSchema):
    updated_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    public_answer = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(ReportItemSchema))
    page_size = fields.Integer()
    next_cursor = fields.String(allow_none=True, metadata={"description": "pass as cursor for the next page"})


def _known_cursor(value: str) -> None:
    """Opaque, but one this API returned (400 invalid_cursor), once it has the cursor alphabet."""
    if CURSOR_RE.match(value):
        public.decode_cursor(value)


class ListQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    bbox = BBox(metadata={"description": "minlon,minlat,maxlon,maxlat"})
    status = Str(validate=STATUS_LIST, metadata={"description": "a status, a comma list, or open / closed"})
    category = Str(validate=Length(max=40))
    province = Str(
        validate=Length(max=8), metadata={"description": "a province code (a deployment of several provinces), e.g. 66"}
    )
    since = LocalDateTime(data_key="from", metadata={"description": "created at or after (ISO date/date-time)"})
    until = LocalDateTime(data_key="to", metadata={"description": "created before (ISO date/date-time)"})
    cursor = Str(
        validate=[CURSOR, _known_cursor],
        metadata={"description": "next_cursor of the previous page (anything else: 400 invalid_cursor)"},
    )
    page_size = fields.Integer(load_default=50, validate=Range(1, 200))

    @validates_schema
    def _range(self, data, **kwargs):
        # Between two fields: a rule the document can only describe, so a domain error.
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise Invalid("invalid_range", "to is before from.", "to sớm hơn from.")


class NearbyQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    lat = fields.Float(required=True, validate=Range(-90, 90))
    lon = fields.Float(required=True, validate=Range(-180, 180))
    category = Str(required=True, validate=Length(1, 40))


class CitizenTokenHeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    citizen_token = Str(
        data_key="X-Citizen-Token",
        validate=CITIZEN_TOKEN,
        metadata={"description": "the app's citizen token (a header: never in the URL, which is logged)"},
    )


class RatingSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    rating = fields.Integer(required=True, validate=Range(1, 5))
    comment = Str(validate=Length(max=2000))
    citizen_token = Str(validate=CITIZEN_TOKEN, metadata={"description": "or X-Citizen-Token"})


class PrivacyNoticeSchema(Schema):
    version = fields.String()
    purpose = fields.String()
    contact_consent = fields.String(metadata={"description": "the consent to ask for contact details"})
    retention_months = fields.Integer()


class ErasureSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    citizen_token = Str(validate=CITIZEN_TOKEN, metadata={"description": "or X-Citizen-Token"})


class ErasedSchema(Schema):
    code = fields.String()
    erased_at = fields.DateTime()


class ReopenSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = Str(required=True, validate=Length(1, 2000))
    citizen_token = Str(validate=CITIZEN_TOKEN, metadata={"description": "or X-Citizen-Token"})


class AdditionSubmitSchema(Schema):
    """A supporter's photos and note for a report they join ("me too"), multipart."""

    class Meta:
        unknown = EXCLUDE

    note = Str(validate=Length(max=2000), metadata={"description": "what the supporter saw (staff only)"})
    photos: fields.List = fields.List(
        PhotoFile(), metadata={"description": "0–PHOTO_MAX_COUNT JPEG/PNG/WebP/HEIC files"}
    )


class AdditionCreatedSchema(Schema):
    code = fields.String()
    followers_count = fields.Integer()
    addition_id = fields.Integer()
    photos = fields.Integer(metadata={"description": "how many photos were kept"})


class FollowSchema(Schema):
    followers_count = fields.Integer()
    following = fields.Boolean()
    new = fields.Boolean(metadata={"description": "false when this follower had already followed"})
