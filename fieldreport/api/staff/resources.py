"""The staff API: queues, report detail, workflow actions, triage, failed jobs.

Every endpoint needs a bearer token (401 without one). The role gate is the decorator; the
object-level check (which unit's reports) is in the services, so a report of another unit
answers 403 and an action the report's state does not allow answers 409 illegal_transition.
"""

from __future__ import annotations

from typing import ClassVar

from flask.views import MethodView
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from fieldreport import auth
from fieldreport.api import plain
from fieldreport.api.parsing import Blueprint, Parser
from fieldreport.api.reports.schemas import CitizenTokenHeaderSchema
from fieldreport.api.staff import jobs
from fieldreport.api.staff.schemas import (
    AssignSchema,
    DuplicateSchema,
    ExtendSchema,
    FailedJobSchema,
    IdentityRequestSchema,
    IdentityViewPageSchema,
    IdentityViewsQuerySchema,
    InfoAnsweredSchema,
    ProvideInfoSchema,
    ReasonSchema,
    ReassignSchema,
    RejectSchema,
    ReporterIdentitySchema,
    RequestInfoSchema,
    ResolveSchema,
    StaffQueuePageSchema,
    StaffQueueQuerySchema,
    StaffReportDetailSchema,
    TransferSchema,
    UnitSchema,
)
from fieldreport.auth import require_roles
from fieldreport.errors import wants_vietnamese
from fieldreport.models import Role
from fieldreport.services import citizen, erasure, photos, privacy, staff_read, workflow
from fieldreport.services.policy import CONTACT_ROLES, STAFF_ROLES

parser = Parser()


@parser.location_loader("multipart")
def _multipart(req, schema):
    return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class StaffBlueprint(Blueprint):
    ARGUMENTS_PARSER = parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict] = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


blp = StaffBlueprint("staff", __name__, description="Staff, dispatcher and supervisor workflow")
BEARER: list[dict] = [{"bearer": []}]
PAGE = StaffQueuePageSchema
DETAIL = StaffReportDetailSchema


def _act(code: str, action, *args, **kwargs) -> dict:
    """Lock the report, run one workflow action as the signed-in user, show the result."""
    user = auth.require_user()
    report = workflow.load(code, for_update=True)
    action(report, user, *args, **kwargs)
    return staff_read.detail(report, user, vi=wants_vietnamese())


@blp.route("/staff/reports")
class StaffReports(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(StaffQueueQuerySchema, location="query")
    @blp.response(200, PAGE)
    def get(self, args):
        """The reports you may see, soonest due first (your unit; a supervisor's subtree)"""
        return plain.send(staff_read.queue(auth.current_user(), vi=wants_vietnamese(), **args))


@blp.route("/staff/reports/<string:code>")
class StaffReportByCode(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.response(200, DETAIL)
    def get(self, code):
        """Full detail: routing explain, history, photos; reporter contact for dispatchers"""
        user = auth.current_user()
        report = workflow.load(code)
        workflow.ensure_visible(user, report)
        return staff_read.detail(report, user, vi=wants_vietnamese())


@blp.route("/staff/reports/<string:code>/reporter-identity")
class ReporterIdentity(MethodView):
    @require_roles(*CONTACT_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(IdentityRequestSchema)
    @blp.response(200, ReporterIdentitySchema)
    def post(self, body, code):
        """The reporter's name, phone and e-mail in clear; the reason is recorded (audit log)"""
        user = auth.current_user()
        report = workflow.load(code)
        workflow.ensure_visible(user, report)
        return privacy.reveal(report, user, body["reason"]), 200, {"Cache-Control": "no-store"}


@blp.route("/staff/reports/<string:code>/erasure")
class Erasure(MethodView):
    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(IdentityRequestSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Erase the reporter's personal data on their request (reason: whose request, how it came)"""
        user = auth.current_user()
        report = erasure.erase_by_admin(code, user, body["reason"])
        return staff_read.detail(report, user, vi=wants_vietnamese())


@blp.route("/staff/identity-views")
class IdentityViews(MethodView):
    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(IdentityViewsQuerySchema, location="query")
    @blp.response(200, IdentityViewPageSchema)
    def get(self, args):
        """Who read which reporter's identity, when and why, newest first (administrators)"""
        return privacy.views(report_code=args.get("report"), page=args["page"], page_size=args["page_size"])


def _files(parts) -> list[bytes]:
    return [data for _, data in photos.read_files(parts)]


@blp.route("/staff/reports/<string:code>/accept")
class Accept(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.response(200, DETAIL)
    def post(self, code):
        """Accept: assigned (or reopened) → in progress"""
        return _act(code, workflow.accept)


@blp.route("/staff/reports/<string:code>/transfer")
class Transfer(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(TransferSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Transfer to another unit (reason required); it gets its own due time"""
        return _act(code, workflow.transfer, body["unit"], body["reason"])


@blp.route("/staff/reports/<string:code>/return")
class Return(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ReasonSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Return to the dispatcher as "not ours" (reason required)"""
        return _act(code, workflow.return_to_dispatcher, body["reason"])


@blp.route("/staff/reports/<string:code>/request-info")
class RequestInfo(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(RequestInfoSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Ask the citizen for information; the clock pauses until they answer"""
        return _act(code, workflow.request_info, body["question"])


@blp.route("/staff/reports/<string:code>/extend")
class Extend(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ExtendSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Extend the due time before it passes (reason, new date, apology to the citizen)"""
        return _act(code, workflow.extend, body["new_due_at"], body["reason"], body["apology"])


@blp.route("/staff/reports/<string:code>/resolve")
class Resolve(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ResolveSchema, location="multipart")
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Resolve with a public answer and at least one "after" photo (multipart)"""
        return _act(code, workflow.resolve, body["answer"], _files(body.get("photos")))


@blp.route("/staff/reports/<string:code>/reject")
class Reject(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(RejectSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Reject with a reason code (duplicate needs duplicate_of)"""
        return _act(code, workflow.reject, body["reason"], body.get("note"), body.get("duplicate_of"))


@blp.route("/staff/reports/<string:code>/duplicate")
class Duplicate(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(DuplicateSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Mark as a duplicate of another report; its followers move to that one"""
        return _act(code, workflow.mark_duplicate, body["duplicate_of"], body.get("note"))


@blp.route("/staff/reports/<string:code>/assign")
class Assign(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(AssignSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Dispatcher: assign to any unit"""
        return _act(code, workflow.assign, body["unit"], body.get("note"))


@blp.route("/staff/reports/<string:code>/reopen")
class Reopen(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ReasonSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Supervisor: reopen a resolved, closed or rejected report of your subtree"""
        return _act(code, workflow.reopen, body["reason"])


@blp.route("/staff/reports/<string:code>/reassign")
class Reassign(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.arguments(ReassignSchema)
    @blp.response(200, DETAIL)
    def post(self, body, code):
        """Supervisor: move a report to another unit of your subtree (reason required)"""
        return _act(code, workflow.reassign, body["unit"], body["reason"])


@blp.route("/staff/triage")
class Triage(MethodView):
    @require_roles(Role.DISPATCHER, Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.arguments(StaffQueueQuerySchema(only=("page", "page_size")), location="query")
    @blp.response(200, PAGE)
    def get(self, args):
        """Dispatcher: the triage queue (no rule matched, returned, or not routed yet)"""
        return staff_read.triage(auth.current_user(), args["page"], args["page_size"], vi=wants_vietnamese())


@blp.route("/staff/units")
class Units(MethodView):
    @require_roles(*STAFF_ROLES)
    @blp.doc(security=BEARER)
    @blp.response(200, UnitSchema(many=True))
    def get(self):
        """Active units (targets of transfer and assignment)"""
        return staff_read.units(auth.current_user())


@blp.route("/admin/failed-jobs")
class FailedJobs(MethodView):
    @require_roles(Role.ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(200, FailedJobSchema(many=True))
    def get(self):
        """Admin: background jobs that failed, with the error of their last attempt"""
        return jobs.failed_jobs()


@blp.route("/reports/<string:code>/info")
class CitizenInfo(MethodView):
    @blp.arguments(CitizenTokenHeaderSchema, location="headers")
    @blp.arguments(ProvideInfoSchema)
    @blp.response(200, InfoAnsweredSchema)
    def post(self, headers, body, code):
        """Citizen: answer the unit's request for information (X-Citizen-Token)"""
        report = workflow.load(code, for_update=True)  # normalised like every public code
        citizen.authorise(report, headers.get("citizen_token"), auth.current_user())
        return workflow.provide_info(report, body["text"])
