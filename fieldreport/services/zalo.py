"""Reports by Zalo message: verified webhooks, a short conversation, then the same intake.

A citizen writes to the province's Official Account: a location, one or more photos and a
text, in any order. Each webhook event is checked (Zalo's signature: sha256 of app_id + raw
body + timestamp + OA secret, refused when stale), stored once per msg_id and acknowledged
only then; a worker job applies it to the user's conversation. When the place, a photo and a
text are there, the report is made by `intake.submit` (channel "zalo") and the tracking code
is sent back through the OA send API; a conversation left halfway expires. The Zalo user is
subscribed to the report (channel `zalo`), so its later citizen-facing events reach them as
OA messages through services/notify, with its retries and delivery status.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from fieldreport import inputs
from fieldreport import queue as jobs
from fieldreport.errors import DomainError, Invalid, NotFound, ServiceUnavailable, Unauthorized
from fieldreport.extensions import db, storage
from fieldreport.models import Channel, IntakeChannel, Upload, ZaloConversation, ZaloMessage
from fieldreport.models.base import utcnow
from fieldreport.services import intake, outbox, photos, privacy, uow, zalo_api

log = logging.getLogger(__name__)

EVENTS = {"user_send_text", "user_send_image", "user_send_location"}
MAX_PHOTOS_NOTE = "Bạn có thể gửi tối đa {n} ảnh."
ASK = {
    "location": "vị trí (bấm ➕ rồi chọn Vị trí)",
    "photo": "ít nhất một ảnh chụp hiện trường",
    "text": "một dòng mô tả sự việc",
}


def enabled() -> bool:
    return bool(current_app.config["ZALO_OA_SECRET"])


# -- the webhook ---------------------------------------------------------------------------


def verify(raw: bytes, payload: dict, signature: str | None) -> None:
    """Zalo's MAC: X-ZEvent-Signature = "mac=" + sha256(app_id + body + timestamp + OA secret)."""
    cfg = current_app.config
    supplied = (signature or "").strip()
    if supplied.lower().startswith("mac="):
        supplied = supplied[4:]
    app_id, ts = str(payload.get("app_id") or ""), str(payload.get("timestamp") or "")
    if not supplied or not app_id or not ts.isdigit():
        raise Unauthorized("zalo_unsigned", "Missing or malformed Zalo signature.", "Thiếu hoặc sai chữ ký Zalo.")
    expected = hashlib.sha256(app_id.encode() + raw + ts.encode() + cfg["ZALO_OA_SECRET"].encode()).hexdigest()
    if not hmac.compare_digest(supplied.lower(), expected) or (cfg["ZALO_APP_ID"] and app_id != cfg["ZALO_APP_ID"]):
        raise Unauthorized("zalo_bad_signature", "The Zalo signature does not match.", "Chữ ký Zalo không khớp.")
    seconds = int(ts) / 1000 if len(ts) > 10 else int(ts)
    if abs(time.time() - seconds) > cfg["ZALO_MAX_SKEW_SECONDS"]:
        raise Unauthorized(
            "zalo_stale",
            "The Zalo event is too old (or from the future): refused as a possible replay.",
            "Sự kiện Zalo đã quá cũ: bị từ chối.",
        )


def receive(raw: bytes, signature: str | None) -> str:
    """Check, store once and queue one webhook event; returns stored | duplicate | ignored."""
    if not enabled():
        raise NotFound("channel_off", "The Zalo channel is not configured.", "Kênh Zalo chưa được cấu hình.")
    try:
        payload = inputs.loads(raw)  # bounded: depth, number length
    except (ValueError, UnicodeDecodeError):
        raise Invalid("invalid_json", "The body is not JSON.", "Nội dung không phải JSON.") from None
    if not isinstance(payload, dict):
        raise Invalid("invalid_json", "The body must be a JSON object.", "Nội dung phải là đối tượng JSON.")
    verify(raw, payload, signature)
    event = str(payload.get("event_name") or "")
    message = payload.get("message")
    if not isinstance(message, dict):
        message = {}
    user_id = str((payload.get("sender") or {}).get("id") or "")[:64]
    msg_id = str(message.get("msg_id") or "")[:100]
    if event not in EVENTS or not user_id or not msg_id:
        return "ignored"  # follows, reactions, OA-side events: acknowledged, nothing to do
    row = db.session.execute(
        insert(ZaloMessage)
        .values(msg_id=msg_id, user_id=user_id, event_name=event, payload=payload)
        .on_conflict_do_nothing(index_elements=["msg_id"])
        .returning(ZaloMessage.id)
    ).scalar()
    if row is None:
        uow.rollback()
        return "duplicate"  # Zalo redelivers until it sees a 200: once is enough
    outbox.record(*jobs.ZALO_PROCESS, row)
    uow.commit()  # stored (and its job recorded) before the 200 goes back
    return "stored"


# -- the conversation (worker) ---------------------------------------------------------------


def citizen_token(user_id: str) -> str:
    """The same citizen token for every report of one Zalo user: their reports group together."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"zalo:{user_id}".encode(), hashlib.sha256).hexdigest()


def _conversation(user_id: str) -> ZaloConversation:
    conv = db.session.scalar(select(ZaloConversation).where(ZaloConversation.user_id == user_id).with_for_update())
    if conv is None:
        db.session.execute(
            insert(ZaloConversation)
            .values(user_id=user_id, state={})
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        conv = db.session.scalar(select(ZaloConversation).where(ZaloConversation.user_id == user_id).with_for_update())
        assert conv is not None  # inserted just now, or by the concurrent job the conflict met
    ttl = timedelta(minutes=current_app.config["ZALO_CONVERSATION_MINUTES"])
    if conv.state and conv.updated_at < utcnow() - ttl:
        conv.state = {}  # abandoned halfway: start again
    return conv


def _attachments(payload: dict, kind: str) -> list[dict]:
    atts = (payload.get("message") or {}).get("attachments") or []
    return [a.get("payload") or {} for a in atts if isinstance(a, dict) and a.get("type") == kind]


def _apply(msg: ZaloMessage, state: dict) -> tuple[dict, list[str], str]:
    """The conversation after one event, the replies it calls for, and the outcome."""
    state = dict(state)
    replies: list[str] = []
    cfg = current_app.config
    if msg.event_name == "user_send_text":
        text = str((msg.payload.get("message") or {}).get("text") or "").strip()
        state["text"] = f"{state.get('text', '')}\n{text}".strip()[:2000]
        return state, replies, "text"
    if msg.event_name == "user_send_location":
        for att in _attachments(msg.payload, "location"):
            coords = att.get("coordinates") or {}
            try:
                lat, lon = float(coords["latitude"]), float(coords["longitude"])
                intake.service_area(lon, lat)
            except (KeyError, TypeError, ValueError):
                replies.append("Không đọc được vị trí. Bạn hãy gửi lại vị trí nhé.")
                return state, replies, "bad_location"
            except DomainError:
                replies.append(
                    "Vị trí này nằm ngoài địa bàn tiếp nhận của tỉnh, nên chúng tôi "
                    "chưa thể nhận phản ánh. Bạn hãy gửi vị trí nơi xảy ra sự việc."
                )
                return state, replies, "outside"
            state["lat"], state["lon"] = lat, lon
            return state, replies, "location"
        return state, replies, "no_location"
    # user_send_image: each photo through the same checks as the app's, kept as an upload
    uploads = list(state.get("upload_ids") or [])
    for i, att in enumerate(_attachments(msg.payload, "image")):
        if len(uploads) >= cfg["PHOTO_MAX_COUNT"]:
            replies.append(MAX_PHOTOS_NOTE.format(n=cfg["PHOTO_MAX_COUNT"]))
            break
        try:
            data = zalo_api.fetch(str(att.get("url") or ""), cfg["PHOTO_MAX_BYTES"])
            photos.check(data, {"field": "zalo", "index": i})
        except zalo_api.AttachmentRefused as exc:
            mb = round(cfg["PHOTO_MAX_BYTES"] / 2**20)
            replies.append(f"Không nhận được ảnh ({exc}). Ảnh cần nhỏ hơn {mb} MB; bạn hãy gửi lại.")
            continue
        except DomainError as exc:
            replies.append(f"Ảnh không dùng được: {exc.message_vi}")
            continue
        upload_id = secrets.token_urlsafe(18)
        key = f"up/{upload_id}"
        storage.put(key, data, "application/octet-stream")
        now = utcnow()
        db.session.add(
            Upload(
                id=upload_id,
                key=key,
                client_key=f"zalo:{msg.user_id}"[:64],
                created_at=now,
                expires_at=now + photos.UPLOAD_TTL,
            )
        )
        uploads.append(upload_id)
    state["upload_ids"] = uploads
    return state, replies, "image"


def _missing(state: dict) -> list[str]:
    out = []
    if state.get("lat") is None:
        out.append("location")
    if not state.get("upload_ids"):
        out.append("photo")
    if not state.get("text"):
        out.append("text")
    return out


def process(message_id: int) -> str:
    """Worker job: apply one stored event; make the report when the conversation is complete."""
    msg = db.session.scalar(select(ZaloMessage).where(ZaloMessage.id == message_id).with_for_update())
    if msg is None or msg.processed_at is not None:
        uow.commit()
        return "done"
    conv = _conversation(msg.user_id)
    state, replies, outcome = _apply(msg, conv.state or {})
    conv.state, conv.updated_at = state, utcnow()
    msg.processed_at, msg.outcome = utcnow(), outcome
    missing = _missing(state)
    if not missing:
        try:
            receipt = intake.submit(
                intake.Submission(
                    category=current_app.config["ZALO_CATEGORY"],
                    lat=state["lat"],
                    lon=state["lon"],
                    description=state["text"],
                    upload_ids=state["upload_ids"],
                    channel=IntakeChannel.ZALO,
                    citizen_token=citizen_token(msg.user_id),
                    idempotency_key=f"zalo-{msg.msg_id}",
                    per_ip_limit=False,
                    client_ip=f"zalo:{msg.user_id}",
                    subscribe=[(Channel.ZALO, msg.user_id)],  # later status messages go back to this user
                    notice_version=privacy.ZALO_NOTICE,
                )
            )  # the notice is the OA's welcome text
        except ServiceUnavailable:
            raise  # storage or Redis down: the job is retried, the conversation kept
        except DomainError as exc:
            uow.rollback()
            return _finish(
                message_id, "refused", [f"Chưa tạo được phản ánh: {exc.message_vi} Bạn hãy gửi lại từ đầu nhé."]
            )
        code = receipt.body["code"]
        base = current_app.config.get("PUBLIC_BASE_URL") or ""
        return _finish(
            message_id,
            "report",
            [f"Đã tiếp nhận phản ánh của bạn. Mã theo dõi: {code}. Xem tiến độ: {base}/track/{code}"],
        )
    if outcome in ("text", "location", "image") and not replies:
        replies.append("Cảm ơn bạn. Để gửi phản ánh, bạn hãy gửi thêm " + ", ".join(ASK[m] for m in missing) + ".")
    for text in replies:
        outbox.record(*jobs.ZALO_SEND, msg.user_id, text)
    uow.commit()
    return outcome


def _finish(message_id: int, outcome: str, replies: list[str]) -> str:
    """After a submission (committed, or refused and rolled back): mark the event, reset the
    conversation, queue the replies."""
    msg = db.session.scalar(select(ZaloMessage).where(ZaloMessage.id == message_id).with_for_update())
    assert msg is not None  # process() read it in this job, and stored messages are never deleted
    msg.processed_at, msg.outcome = utcnow(), outcome
    conv = _conversation(msg.user_id)
    conv.state, conv.updated_at = {}, utcnow()
    for text in replies:
        outbox.record(*jobs.ZALO_SEND, msg.user_id, text)
    uow.commit()
    return outcome


def send(user_id: str, text: str) -> str:
    """Worker job: one reply through the OA send API (raises to be retried)."""
    zalo_api.send_text(user_id, text)
    return "sent"
