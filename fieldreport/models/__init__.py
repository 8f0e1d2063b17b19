"""The typed SQLAlchemy models, one module per aggregate; imported here for metadata."""

from fieldreport.models.area import Area
from fieldreport.models.base import Base
from fieldreport.models.category import Category, RoutingRule
from fieldreport.models.channels import ZaloConversation, ZaloMessage
from fieldreport.models.citizen import OtpChallenge, Subscription
from fieldreport.models.export import Export, ExportState
from fieldreport.models.open311 import Open311Update
from fieldreport.models.ops import CalendarDay, IdempotencyKey, Notification, Outbox, Upload
from fieldreport.models.privacy import IdentityView
from fieldreport.models.report import Addition, Event, Follower, Photo, Report
from fieldreport.models.rollup import IndicatorDirty, IndicatorFact, IndicatorRollup
from fieldreport.models.unit import Unit
from fieldreport.models.user import ApiKey, AuthToken, User
from fieldreport.models.vocab import (
    OPEN_STATUSES,
    OPERATOR_CHANNELS,
    REJECT_REASONS,
    ROLES,
    STATUSES,
    AssignReason,
    Channel,
    EventType,
    IntakeChannel,
    NoticeKind,
    NotificationState,
    PhotoKind,
    RejectReason,
    Role,
    Status,
    SubscriberRole,
)

__all__ = [
    "Base",
    "Area",
    "Unit",
    "Category",
    "RoutingRule",
    "ApiKey",
    "AuthToken",
    "User",
    "Addition",
    "Event",
    "Export",
    "ExportState",
    "Follower",
    "Photo",
    "Report",
    "CalendarDay",
    "IdempotencyKey",
    "Notification",
    "Outbox",
    "Upload",
    "Open311Update",
    "IndicatorDirty",
    "IndicatorFact",
    "IndicatorRollup",
    "ZaloConversation",
    "ZaloMessage",
    "OtpChallenge",
    "Subscription",
    "IdentityView",
    "Status",
    "STATUSES",
    "OPEN_STATUSES",
    "EventType",
    "RejectReason",
    "REJECT_REASONS",
    "AssignReason",
    "Channel",
    "OPERATOR_CHANNELS",
    "IntakeChannel",
    "NotificationState",
    "NoticeKind",
    "SubscriberRole",
    "PhotoKind",
    "Role",
    "ROLES",
]
