"""Marshmallow schemas of the staff API: queue, report detail, action bodies, failed jobs."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields
from marshmallow.validate import Length, OneOf, Range, Regexp
from werkzeug.datastructures import FileStorage

from fieldreport.models import REJECT_REASONS, STATUSES

TEXT = Length(1, 4000)
REASON = Length(1, 500)
_STATUS = "|".join(STATUSES)
STATUS_FILTER = Regexp(
    rf"^(all|({_STATUS})(,({_STATUS}))*)$", error=f"'all' or a comma list of: {', '.join(STATUSES)}."
)


class StaffQueueQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    status = fields.String(
        validate=STATUS_FILTER, metadata={"description": "comma-separated statuses, or 'all'; default: the open ones"}
    )
    category = fields.String(validate=Length(1, 40), metadata={"description": "category code"})
    area = fields.String(validate=Length(1, 16), metadata={"description": "commune code"})
    unit = fields.String(validate=Length(1, 40), metadata={"description": "unit code (must be visible to you)"})
    overdue = fields.Boolean(metadata={"description": "only open reports past their due time"})
    page = fields.Integer(load_default=1, validate=Range(1, 100_000))
    page_size = fields.Integer(load_default=20, validate=Range(1, 100))


class StaffRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class StaffReportSummarySchema(Schema):
    code = fields.String()
    status = fields.String()
    category = fields.Nested(StaffRefSchema)
    unit = fields.Nested(StaffRefSchema, allow_none=True)
    area = fields.Nested(StaffRefSchema, allow_none=True)
    description = fields.String(allow_none=True)
    address_hint = fields.String(allow_none=True)
    lon = fields.Float()
    lat = fields.Float()
    created_at = fields.DateTime()
    assigned_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    followers_count = fields.Integer()
    transfer_count = fields.Integer()


class StaffQueuePageSchema(Schema):
    items = fields.List(fields.Nested(StaffReportSummarySchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class StaffEventSchema(Schema):
    at = fields.DateTime()
    type = fields.String()
    actor = fields.String(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    from_unit = fields.String(allow_none=True, metadata={"description": "unit code"})
    to_unit = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    public = fields.Boolean()
    data = fields.Dict()


class StaffReportDetailSchema(StaffReportSummarySchema):
    category = fields.Nested(StaffRefSchema)
    attributes = fields.Dict()
    accuracy_m = fields.Float(allow_none=True)
    location_source = fields.String()
    channel = fields.String()
    accepted_at = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    indicator_due_at = fields.DateTime(
        allow_none=True, metadata={"description": "the due that counts for the indicators (extensions do not move it)"}
    )
    citizen_due_at = fields.DateTime(allow_none=True, metadata={"description": "promised to the citizen"})
    paused_at = fields.DateTime(allow_none=True)
    public_answer = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    parent_code = fields.String(allow_none=True)
    reopen_count = fields.Integer()
    manually_triaged = fields.Boolean()
    rating = fields.Integer(allow_none=True)
    rating_comment = fields.String(allow_none=True)
    routing = fields.Dict(
        allow_none=True,
        metadata={
            "description": "explain: rule_id, rule_note, area_code, area_name, method "
            "(contains|nearest|none), distance_m, reason, also_in"
        },
    )
    photos = fields.List(fields.Dict())
    additions = fields.List(
        fields.Dict(),
        metadata={"description": 'supporters\' additions ("me too" with their own): at, note, photos; never public'},
    )
    history = fields.List(fields.Nested(StaffEventSchema))
    reporter = fields.Dict(
        allow_none=True,
        metadata={
            "description": 'name, phone, email masked ("09xx xxx 678"), dispatcher and admin only; '
            "POST …/reporter-identity with a reason reveals them (audited)"
        },
    )
    erased_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when the reporter's personal data were erased (request or retention)"},
    )
    actions = fields.List(fields.String(), metadata={"description": "what you may do now"})


class TransferSchema(Schema):
    unit = fields.String(required=True, validate=Length(1, 40), metadata={"description": "target unit code"})
    reason = fields.String(required=True, validate=REASON)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=REASON)


class RequestInfoSchema(Schema):
    question = fields.String(required=True, validate=TEXT, metadata={"description": "shown to the citizen"})


class ProvideInfoSchema(Schema):
    text = fields.String(required=True, validate=TEXT)


class ExtendSchema(Schema):
    new_due_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=REASON)
    apology = fields.String(required=True, validate=TEXT, metadata={"description": "sent to the citizen"})


class PhotoPart(Upload):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("Not a file upload.")
        return value


class ResolveSchema(Schema):
    """multipart/form-data: the public answer and one or more `photos` of the result."""

    class Meta:
        unknown = EXCLUDE

    answer = fields.String(required=True, validate=TEXT, metadata={"description": "public answer"})
    photos: fields.List = fields.List(
        PhotoPart(), required=True, validate=Length(min=1), metadata={"description": "'after' photos (at least one)"}
    )


class RejectSchema(Schema):
    reason = fields.String(required=True, validate=OneOf(REJECT_REASONS))
    note = fields.String(validate=TEXT)
    duplicate_of = fields.String(
        validate=Length(1, 16), metadata={"description": "the parent's code, required with reason 'duplicate'"}
    )


class DuplicateSchema(Schema):
    duplicate_of = fields.String(required=True, validate=Length(1, 16))
    note = fields.String(validate=TEXT)


class AssignSchema(Schema):
    unit = fields.String(required=True, validate=Length(1, 40))
    note = fields.String(validate=TEXT)


class ReassignSchema(Schema):
    unit = fields.String(required=True, validate=Length(1, 40))
    reason = fields.String(required=True, validate=REASON)


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_code = fields.String(allow_none=True)


class FailedJobSchema(Schema):
    id = fields.String()
    queue = fields.String()
    func = fields.String()
    args = fields.List(fields.Raw())
    enqueued_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    exc_info = fields.String(allow_none=True, metadata={"description": "the traceback of the last attempt"})


class InfoAnsweredSchema(Schema):
    code = fields.String()
    status = fields.String()
    due_at = fields.DateTime(allow_none=True)


class IdentityRequestSchema(Schema):
    reason = fields.String(
        required=True,
        validate=Length(5, 500),
        metadata={"description": "why you need the reporter's identity (5–500 characters); recorded"},
    )


class ReporterIdentitySchema(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    masked = fields.Boolean()
    viewed_at = fields.DateTime()


class IdentityViewsQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # an undeclared query parameter is a 422, not ignored (api/parsing.py)

    report = fields.String(validate=Length(1, 16), metadata={"description": "one report's code"})
    page = fields.Integer(load_default=1, validate=Range(1, 100_000))
    page_size = fields.Integer(load_default=50, validate=Range(1, 200))


class IdentityViewSchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    username = fields.String()
    role = fields.String()
    report_code = fields.String()
    reason = fields.String()


class IdentityViewPageSchema(Schema):
    items = fields.List(fields.Nested(IdentityViewSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
