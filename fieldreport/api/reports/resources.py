"""Citizen report endpoints: submit, public view, map listing, nearby, rate, reopen, follow, mine.

Photo URLs in responses (a report's photos, list items' thumbnails) are stable URLs,
/reports/{code}/photos/{id}/{display,thumb}, that redirect to a fresh presigned URL of the
metadata-free copy: a stored or cached answer never holds a dead link, and pages stay cheap
(no signing per item). Never the original.
"""

from __future__ import annotations

from typing import ClassVar

from flask import current_app, redirect, request
from flask.views import MethodView
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from fieldreport import auth, security
from fieldreport.api import plain
from fieldreport.api.parsing import Blueprint, Parser
from fieldreport.api.reports.schemas import (
    AdditionCreatedSchema,
    AdditionSubmitSchema,
    CitizenTokenHeaderSchema,
    ErasedSchema,
    ErasureSchema,
    FollowSchema,
    IntakeHeadersSchema,
    ListQuerySchema,
    MyReportSchema,
    NearbyItemSchema,
    NearbyQuerySchema,
    PrivacyNoticeSchema,
    RatingSchema,
    ReopenSchema,
    ReportCreatedSchema,
    ReportJsonSchema,
    ReportPageSchema,
    ReportSubmitSchema,
    ReportViewSchema,
)
from fieldreport.errors import Unauthorized, wants_vietnamese
from fieldreport.models.vocab import IntakeChannel
from fieldreport.services import citizen, erasure, intake, photos, privacy, public
from fieldreport.services.disclosure import Viewer

parser = Parser()


@parser.location_loader("multipart_or_json")
def _multipart_or_json(req, schema):
    """One submission endpoint, two bodies: multipart (form fields + photo files) or JSON."""
    if req.is_json:
        return parser.load_json(req, schema)
    return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class IntakeBlueprint(Blueprint):
    ARGUMENTS_PARSER = parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict] = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart_or_json": "multipart/form-data",
    }


blp = IntakeBlueprint(
    "reports",
    __name__,
    description=(
        "Citizen reports: submit, follow, rate, reopen. Submission takes multipart photos or JSON "
        "with upload_ids; an Idempotency-Key makes retries safe. The answer's citizen_token (or the "
        "app's own X-Citizen-Token) proves the reporter for rating, reopening and /me/reports. "
        "A report is accepted even while the job queue is down (its jobs wait in the outbox); photo "
        "storage down is a 503 with Retry-After. Photo URLs (a report's photos, list thumbnails) are "
        "stable URLs that redirect to a fresh presigned URL of the metadata-free copy. Listing pages "
        "are keyset-paginated: pass next_cursor as cursor."
    ),
)


def signed_in_user():
    """The user of a valid bearer token (a signed-in citizen), or None for the anonymous app."""
    return auth.current_user()


# The X-Citizen-Token header, declared and checked (32–128 URL-safe characters) wherever an
# operation reads it: the view gets it as `citizen_token`.
citizen_header = blp.arguments(CitizenTokenHeaderSchema, location="headers", as_kwargs=True)


def _token(header: str | None, body: dict | None = None) -> str | None:
    """The citizen token of the request: the header or a JSON body field, never the URL
    (a query string carrying one is refused before this runs, see urlsecrets)."""
    return header or (body or {}).get("citizen_token") or None


def _follower_key(citizen_token: str | None) -> str:
    """One supporter per proven citizen token, signed-in citizen, or else client address."""
    return citizen.follower_key(citizen_token, signed_in_user(), request.remote_addr or "")


@blp.route("/reports")
class Reports(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args):
        """List public reports, newest first (keyset pagination by cursor)"""
        return plain.send(
            public.listing(
                vi=wants_vietnamese(),
                bbox=args.get("bbox"),
                status=public.statuses(args.get("status")),
                category=args.get("category"),
                province=args.get("province"),
                since=args.get("since"),
                until=args.get("until"),
                cursor=args.get("cursor"),
                page_size=args["page_size"],
            )
        )

    @blp.arguments(IntakeHeadersSchema, location="headers")
    @blp.arguments(ReportSubmitSchema, location="multipart_or_json")
    @blp.doc(requestBody={"content": {"application/json": {"schema": ReportJsonSchema}}})
    @blp.response(201, ReportCreatedSchema)
    def post(self, headers, data):
        """Submit a report (multipart photos, or JSON with upload_ids)"""
        receipt = intake.submit(
            intake.Submission(
                category=data["category"],
                lat=data.get("lat"),
                lon=data.get("lon"),
                accuracy_m=data.get("accuracy_m"),
                description=data.get("description"),
                address_hint=data.get("address_hint"),
                reporter_name=data.get("reporter_name"),
                reporter_phone=data.get("reporter_phone"),
                reporter_email=data.get("reporter_email"),
                attributes=data.get("attributes") or {},
                photos=photos.read_files(data.get("photos")),
                upload_ids=data.get("upload_ids") or [],
                citizen_token=headers.get("citizen_token"),
                idempotency_key=headers.get("idempotency_key"),
                client_ip=request.remote_addr or "",
                user=signed_in_user(),
                channel=headers.get("client") or IntakeChannel.APP,
                notice_version=data.get("notice_version"),
                contact_consent=data.get("contact_consent"),
                location_source=data.get("location_source"),
            )
        )
        extra = {"Idempotent-Replayed": "true"} if receipt.replayed else {}
        return receipt.body, receipt.status, {"Location": receipt.body["links"]["self"], **extra}


@blp.route("/privacy-notice")
class PrivacyNotice(MethodView):
    @blp.response(200, PrivacyNoticeSchema)
    def get(self):
        """The privacy notice to show before a report is sent (send its version as notice_version)"""
        return privacy.notice(wants_vietnamese(), current_app.config["RETENTION_MONTHS"])


@blp.route("/reports/nearby")
class NearbyReports(MethodView):
    @blp.arguments(NearbyQuerySchema, location="query")
    @blp.response(200, NearbyItemSchema(many=True))
    def get(self, args):
        """Open reports of a category near a point, nearest first"""
        return plain.send(
            public.nearby(
                args["lat"], args["lon"], args["category"], wants_vietnamese(), current_app.config["NEARBY_METERS"]
            )
        )


@blp.route("/reports/<string:code>")
class ReportByCode(MethodView):
    @citizen_header
    @blp.response(200, ReportViewSchema)
    def get(self, code, citizen_token=None):
        """Public view of one report (with X-Citizen-Token, or signed in, its reporter's view)"""
        user = signed_in_user()
        report, viewer = public.visible(code, citizen_token, user.id if user else None)
        return public.view(report, wants_vietnamese(), viewer)


@blp.route("/reports/<string:code>/photos/<int:photo_id>/<any(display, thumb):variant>")
class ReportPhoto(MethodView):
    @citizen_header
    @blp.doc(responses={"302": {"description": "Location: a presigned GET URL of the public copy"}})
    def get(self, code, photo_id, variant, citizen_token=None):
        """Redirect to a fresh presigned URL of a photo's public copy (display or thumb)"""
        user = signed_in_user()
        url = public.photo_redirect(code, photo_id, variant, citizen_token, user.id if user else None)
        resp = redirect(url, code=302)
        # A little shorter than the presigned URL lives, so a cached redirect never points at a dead URL.
        resp.headers["Cache-Control"] = f"private, max-age={current_app.config['PRESIGN_SECONDS'] // 2}"
        return resp


@blp.route("/reports/<string:code>/rating")
class ReportRating(MethodView):
    @citizen_header
    @blp.arguments(RatingSchema)
    @blp.response(200, ReportViewSchema)
    def post(self, body, code, citizen_token=None):
        """Rate a resolved report (once, 1–5)"""
        report = citizen.rate(code, body["rating"], body.get("comment"), _token(citizen_token, body), signed_in_user())
        return public.view(report, wants_vietnamese(), Viewer.REPORTER)


@blp.route("/reports/<string:code>/erasure")
class ReportErasure(MethodView):
    @citizen_header
    @blp.arguments(ErasureSchema)
    @blp.response(200, ErasedSchema)
    def post(self, body, code, citizen_token=None):
        """Erase my personal data from this report: name, contacts, photo metadata, personal
        data in my words (the report itself stays, anonymous, and keeps counting)"""
        report = erasure.erase_for_citizen(code, _token(citizen_token, body), signed_in_user())
        return {"code": report.code, "erased_at": report.erased_at}


@blp.route("/reports/<string:code>/reopen")
class ReportReopen(MethodView):
    @citizen_header
    @blp.arguments(ReopenSchema)
    @blp.response(200, ReportViewSchema)
    def post(self, body, code, citizen_token=None):
        """Reopen a resolved report within the reopen window"""
        report = citizen.reopen(code, body["reason"], _token(citizen_token, body), signed_in_user())
        return public.view(report, wants_vietnamese(), Viewer.REPORTER)


@blp.route("/reports/<string:code>/follow")
class ReportFollow(MethodView):
    @citizen_header
    @blp.response(200, FollowSchema)
    def post(self, code, citizen_token=None):
        """Follow a report ("me too"): counted once per citizen token or client"""
        count, new = citizen.follow(code, _follower_key(citizen_token), intake.client_key(request.remote_addr or ""))
        return {"followers_count": count, "following": True, "new": new}


@blp.route("/reports/<string:code>/additions")
class ReportAdditions(MethodView):
    @citizen_header
    @blp.arguments(AdditionSubmitSchema, location="multipart_or_json")
    @blp.response(201, AdditionCreatedSchema)
    def post(self, data, code, citizen_token=None):
        """ "Me too" with the supporter's own photos and note: kept for the staff, never public"""
        return citizen.add_to(
            code,
            _follower_key(citizen_token),
            data.get("note"),
            photos.read_files(data.get("photos")),
            intake.client_key(request.remote_addr),
        )


@blp.route("/me/reports")
class MyReports(MethodView):
    @citizen_header
    @blp.response(200, MyReportSchema(many=True))
    def get(self, citizen_token=None):
        """The reports of this citizen token (X-Citizen-Token) or signed-in citizen"""
        token, user = citizen_token, signed_in_user()
        if not token and user is None:
            raise Unauthorized(
                "citizen_token_required", "Send X-Citizen-Token or sign in.", "Cần gửi X-Citizen-Token hoặc đăng nhập."
            )
        return public.mine(security.token_hash(token) if token else None, user.id if user else None, wants_vietnamese())
