"""The named vocabulary: every closed set of words the code stores, compares or sends.

Each set is a `StrEnum`: a member *is* its string (`Status.RESOLVED == "resolved"`), so the
database columns, JSON, Open311 output, templates and the translation tables keyed by the
words are unchanged. Python code names the members; SQL text, Alembic migrations, Jinja
templates and the message tables keep the plain words (tests/unit/test_vocabulary.py holds
the code to this and the database's partial indexes to the sets below).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A report's workflow state (docs: DESIGN §4). Open311 maps them to open/closed."""

    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_INFO = "awaiting_info"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"


STATUSES = tuple(Status)
# Still being handled (the partial indexes ix_reports_open_* in models/report.py list these).
OPEN_STATUSES = (Status.SUBMITTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_INFO, Status.REOPENED)


class EventType(StrEnum):
    """What one `Event` row says happened; every member is written by the code."""

    SUBMITTED = "submitted"  # services/intake
    ASSIGNED = "assigned"  # routing or the dispatcher
    TRANSFERRED = "transferred"  # a unit to another unit
    RETURNED = "returned"  # a unit back to the dispatcher ("not ours")
    REASSIGNED = "reassigned"  # a supervisor between units of their subtree
    ACCEPTED = "accepted"
    INFO_REQUESTED = "info_requested"
    INFO_PROVIDED = "info_provided"
    PHOTOS_ADDED = "photos_added"  # a caller's photos through the operator's link
    EXTENDED = "extended"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    DUPLICATE_LINKED = "duplicate_linked"  # on the parent, internal
    RATED = "rated"
    REOPENED = "reopened"
    WARNED = "warned"  # services/sla, internal
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    EXTERNAL_UPDATE = "external_update"  # an Open311 client's servicerequestupdate


class RejectReason(StrEnum):
    """Why a report is not handled (DESIGN §4); `duplicate` links to a parent instead."""

    UNCLEAR = "unclear"
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"
    COMPLAINT_CHANNEL = "complaint_channel"
    OFFENSIVE = "offensive"


REJECT_REASONS = tuple(RejectReason)


class AssignReason(StrEnum):
    """Why an "assigned" event handed the report to its unit (services/routing's decision, or
    the dispatcher's triage); a transfer's or reassignment's reason is the staff member's words."""

    RULE = "rule"  # the most specific routing rule of the category for the commune
    NO_RULE = "no_rule"  # → the dispatcher
    CATEGORY_OTHER = "category_other"  # → the dispatcher
    OUTSIDE_PROVINCE = "outside_province"  # → the dispatcher
    REOPENED = "reopened"  # back to the unit that handled it
    TRIAGE = "triage"  # the dispatcher chose the unit


class Channel(StrEnum):
    """How a notification is delivered (`Notification.channel`); a citizen subscribes on the
    first four (`Subscription.channel`), `webhook` and `log` are the deployment's own."""

    PUSH = "push"  # Web Push (services/push)
    SMS = "sms"
    EMAIL = "email"
    ZALO = "zalo"  # the OA send API, to the Zalo user a report came from
    WEBHOOK = "webhook"  # NOTIFY_WEBHOOK_URL
    LOG = "log"  # nobody else would hear of it


class NotificationState(StrEnum):
    """A notification row's delivery (`Notification.status`)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # no retry left, or the channel said it never will work
    CANCELLED = "cancelled"  # its subscription was turned off before it was sent


class NoticeKind(StrEnum):
    """A notification's kind when it is not its event's type (a citizen's message about an
    event is kinded by the `EventType`)."""

    STATUS_CHANGED = "status_changed"  # any other status change (an Open311 update, ...)
    SUPPORTED = "supported"  # a caller's receipt for supporting a report already open
    SLA_WARNING = "sla_warning"  # to the unit
    SLA_OVERDUE = "sla_overdue"  # to the unit
    SLA_ESCALATION = "sla_escalation"  # to the supervisors above it


class SubscriberRole(StrEnum):
    """Whose subscription it is: the reporter's messages may carry what is addressed to them."""

    REPORTER = "reporter"
    FOLLOWER = "follower"


class PhotoKind(StrEnum):
    """`Photo.kind`: the report's own, the unit's result, or a supporter's (never public)."""

    BEFORE = "before"
    AFTER = "after"
    SUPPORT = "support"


class Role(StrEnum):
    """A user's role (`User.role`); a staff member's event actor is "<role>:<username>", a
    citizen's is plain "citizen"."""

    CITIZEN = "citizen"
    OPERATOR = "operator"  # takes calls and visits for citizens (the console's calls page)
    STAFF = "staff"  # a unit's staff
    DISPATCHER = "dispatcher"  # the IOC: triage, reporter identity
    SUPERVISOR = "supervisor"  # a unit subtree's leaders
    ADMIN = "admin"


ROLES = tuple(Role)


class IntakeChannel(StrEnum):
    """How a report came in (`Report.channel`, the indicators' group_by=channel). An Open311
    client's reports carry its API key's own channel ("open311:<name>"), outside this set."""

    APP = "app"  # the citizen web app and the mobile API
    WEB = "web"
    HOTLINE = "hotline"  # an operator took a call (services/calls.py)
    COUNTER = "counter"  # an operator at a commune's reception desk
    ZALO = "zalo"  # the Zalo OA chat


OPERATOR_CHANNELS = (IntakeChannel.HOTLINE, IntakeChannel.COUNTER)  # the channels a call is recorded under
