"""Domain exceptions, the catalogue of error codes, and the one mapping to problem+json responses."""

from __future__ import annotations

from typing import NamedTuple

from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A failure a client can act on: stable `code`, HTTP status, message in vi and en."""

    status = 400

    def __init__(
        self, code: str, message_en: str, message_vi: str | None = None, *, status: int | None = None, **extra
    ) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_en = message_en
        self.message_vi = message_vi or message_en
        if status is not None:
            self.status = status
        self.extra = extra


class Invalid(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class BadInput(DomainError, ValueError):
    """Input no view can use (fieldreport.inputs); a ValueError too, so that werkzeug's JSON
    loading hands it to Request.on_json_loading_failed, which raises it as it is."""

    status = 400


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class TooLarge(DomainError):
    status = 413


class Unprocessable(DomainError):
    status = 422


class RateLimited(DomainError):
    status = 429


class ServiceUnavailable(DomainError):
    """A dependency (storage, Redis, database) is down; the client should retry later."""

    status = 503
    retry_after = 30


class Entry(NamedTuple):
    status: int
    en: str  # what the code means, whatever the occurrence (a raise site says more)
    vi: str


# Every code a client can receive, with its one status (tests/unit/test_error_catalogue.py reads
# every raise site of the package and holds it to this table). The rule for a new code:
# 404 when the URL names nothing (report_not_found), 422 when a value in the body or query
# is malformed or names nothing (unknown_unit, bad_date), 400 when the request as a whole
# does not make sense (Open311 answers 400 for both 400 and 422: open311/render.http_status).
CATALOGUE: dict[str, Entry] = {
    k: Entry(*v)
    for k, v in {
        "action_forbidden": (
            403,
            "You may not do this to this report.",
            "Bạn không được phép thực hiện thao tác này với phản ánh.",
        ),
        "addition_empty": (422, "Send a note or at least one photo.", "Cần gửi ghi chú hoặc ít nhất một ảnh."),
        "address_ambiguous": (
            400,
            "address_string could name more than one place; send lat and long.",
            "address_string có thể chỉ nhiều nơi; vui lòng gửi lat và long.",
        ),
        "address_id_unsupported": (
            400,
            "address_id cannot be resolved here; send lat and long or address_string.",
            "Không tra được address_id; vui lòng gửi lat và long hoặc address_string.",
        ),
        "address_not_located": (
            400,
            "address_string names no commune or ward of this province; send lat and long.",
            "address_string không nêu xã/phường nào của tỉnh; vui lòng gửi lat và long.",
        ),
        "after_photo_required": (
            422,
            "Attach at least one photo of the result.",
            "Cần đính kèm ít nhất một ảnh sau khi xử lý.",
        ),
        "already_day_off": (422, "That day is already a day off.", "Ngày này vốn là ngày nghỉ."),
        "already_rated": (409, "This report has already been rated.", "Phản ánh này đã được đánh giá."),
        "already_working_day": (422, "That day is already a working day.", "Ngày này vốn là ngày làm việc."),
        "api_key_invalid": (403, "Invalid or revoked api_key.", "api_key không hợp lệ hoặc đã bị thu hồi."),
        "api_key_missing": (403, "An api_key is required for this request.", "Cần có api_key cho yêu cầu này."),
        "api_key_name_invalid": (400, "The client name is empty or too long.", "Tên ứng dụng trống hoặc quá dài."),
        "api_key_name_taken": (409, "A key with this name already exists.", "Đã có khóa với tên này."),
        "api_key_no_updates": (
            403,
            "This api_key may not post updates: it is not bound to a unit.",
            "api_key này không được gửi cập nhật: chưa gắn với đơn vị nào.",
        ),
        "api_key_not_found": (404, "No such API key.", "Không tìm thấy khóa API."),
        "api_key_not_responsible": (
            403,
            "This request is not with this api_key's unit.",
            "Phản ánh này không thuộc đơn vị của api_key.",
        ),
        "attribute_required": (422, "A required attribute is missing.", "Thiếu thuộc tính bắt buộc."),
        "bad_bbox": (422, "bbox is w,s,e,n in degrees.", "bbox là tây,nam,đông,bắc (độ)."),
        "bad_channel": (
            422,
            "The intake channel is not one an operator records (hotline, counter).",
            "Kênh tiếp nhận không phải kênh tổng đài viên ghi nhận (đường dây nóng, tại quầy).",
        ),
        "bad_date": (422, "The day must be YYYY-MM-DD.", "Ngày phải có dạng YYYY-MM-DD."),
        "bad_group_by": (
            400,
            "group_by is not one of the groupings offered.",
            "group_by không thuộc các cách nhóm được hỗ trợ.",
        ),
        "bad_map_view": (
            422,
            "zoom is an integer and bbox is w,s,e,n in degrees.",
            "zoom là số nguyên, bbox là tây,nam,đông,bắc (độ).",
        ),
        "bad_new_due_at": (
            422,
            "Give the new due date and time (dd/mm/yyyy hh:mm).",
            "Cần nhập ngày giờ hạn mới (dd/mm/yyyy hh:mm).",
        ),
        "bad_period": (422, "period is not one of the periods offered.", "period không thuộc các kỳ được hỗ trợ."),
        "bad_period_range": (422, "to is before from.", "Đến ngày trước từ ngày."),
        "bad_photo_link": (
            403,
            "This photo link is not valid for this report.",
            "Đường dẫn gửi ảnh không đúng với phản ánh này.",
        ),
        "bad_reason": (422, "The reason is not one of the listed reasons.", "Lý do từ chối không hợp lệ."),
        "bad_status": (422, "Unknown status.", "Trạng thái không hợp lệ."),
        "bad_target_unit": (422, "Choose a different, handling unit.", "Hãy chọn một đơn vị xử lý khác."),
        "calendar_day_exists": (409, "That day is already in the calendar.", "Ngày này đã có trong lịch."),
        "calendar_day_not_found": (404, "That day is not in the calendar.", "Ngày này không có trong lịch."),
        "channel_off": (404, "The Zalo channel is not configured.", "Kênh Zalo chưa được cấu hình."),
        "citizen_only": (
            403,
            "Only a citizen signed in by phone can do this.",
            "Chỉ công dân đăng nhập bằng số điện thoại mới thực hiện được.",
        ),
        "citizen_token_required": (401, "Send X-Citizen-Token or sign in.", "Cần gửi X-Citizen-Token hoặc đăng nhập."),
        "consent_required": (
            422,
            "Consent to the use of contact details is required (or leave them empty).",
            "Cần đồng ý cho phép sử dụng thông tin liên hệ (hoặc để trống).",
        ),
        "contact_required": (
            422,
            "This category needs your name and a phone or e-mail.",
            "Loại phản ánh này cần họ tên và số điện thoại hoặc e-mail của bạn.",
        ),
        "coordinates_incomplete": (422, "Send both lat and long.", "Cần gửi cả lat và long."),
        "custom_period_needs_dates": (
            400,
            "A custom period needs from and to.",
            "Kỳ tùy chọn cần có từ ngày và đến ngày.",
        ),
        "database_unavailable": (503, "The database is unavailable.", "Cơ sở dữ liệu đang không truy cập được."),
        "deadline_passed": (
            409,
            "The due time has passed; it can no longer be extended.",
            "Đã quá hạn xử lý, không thể gia hạn.",
        ),
        "duplicate_parent_forbidden": (
            403,
            "The report it duplicates belongs to another unit.",
            "Phản ánh bị trùng thuộc đơn vị khác.",
        ),
        "due_not_later": (
            422,
            "The new due time must be after the current one.",
            "Thời hạn mới phải sau thời hạn hiện tại.",
        ),
        "duplicate_upload": (422, "The same upload is referenced twice.", "Một ảnh tải lên được tham chiếu hai lần."),
        "export_forbidden": (403, "This export belongs to someone else.", "Tệp xuất này thuộc về người khác."),
        "export_not_found": (404, "No such export (or it expired).", "Không có tệp xuất này (hoặc đã hết hạn)."),
        "forbidden_role": (
            403,
            "Your role may not do this.",
            "Vai trò của bạn không được phép thực hiện thao tác này.",
        ),
        "idempotency_in_progress": (
            409,
            "The first request with this key is still running.",
            "Yêu cầu đầu tiên với khóa này đang được xử lý.",
        ),
        "idempotency_key_reused": (
            409,
            "This Idempotency-Key was already used for a different request.",
            "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
        ),
        "identity_forbidden": (
            403,
            "Only dispatchers and administrators may see a reporter's identity.",
            "Chỉ điều phối viên và quản trị viên được xem danh tính người phản ánh.",
        ),
        "illegal_transition": (
            409,
            "The report's status does not allow this action.",
            "Trạng thái hiện tại của phản ánh không cho phép thao tác này.",
        ),
        "internal_error": (500, "Internal error.", "Lỗi hệ thống."),
        "invalid_attribute": (
            422,
            "An attribute has a value it does not take.",
            "Một thuộc tính có giá trị không hợp lệ.",
        ),
        "invalid_bbox": (
            400,
            "bbox is minlon,minlat,maxlon,maxlat in degrees, with min < max.",
            "bbox là minlon,minlat,maxlon,maxlat (độ), với min < max.",
        ),
        "invalid_citizen_token": (
            400,
            "X-Citizen-Token must be 32–128 URL-safe characters.",
            "X-Citizen-Token phải gồm 32–128 ký tự an toàn cho URL.",
        ),
        "invalid_coordinate": (
            400,
            "A coordinate is not a number in range.",
            "Tọa độ không phải là số trong khoảng hợp lệ.",
        ),
        "invalid_coordinates": (
            422,
            "lat must be within ±90 and lon within ±180.",
            "Vĩ độ phải trong khoảng ±90 và kinh độ trong khoảng ±180.",
        ),
        "invalid_credentials": (401, "Wrong username or password.", "Sai tên đăng nhập hoặc mật khẩu."),
        "invalid_cursor": (400, "The cursor is not one this API returned.", "Con trỏ phân trang không hợp lệ."),
        "invalid_datetime": (
            400,
            "A datetime is not in W3C form, such as 2025-07-01T00:00:00+07:00.",
            "Thời điểm không đúng dạng W3C, ví dụ 2025-07-01T00:00:00+07:00.",
        ),
        "invalid_email": (422, "This is not a valid e-mail address.", "Địa chỉ e-mail không hợp lệ."),
        "invalid_idempotency_key": (
            400,
            "Idempotency-Key must be 1–200 printable ASCII characters without spaces.",
            "Idempotency-Key phải gồm 1–200 ký tự ASCII in được, không có khoảng trắng.",
        ),
        "invalid_integer": (400, "A value must be a positive integer.", "Giá trị phải là số nguyên dương."),
        "invalid_json": (400, "The body must be a JSON object.", "Nội dung phải là đối tượng JSON."),
        "invalid_phone": (422, "This is not a valid phone number.", "Số điện thoại không hợp lệ."),
        "invalid_radius": (
            400,
            "radius must be metres, more than 0 and not too large.",
            "radius phải là số mét, lớn hơn 0 và không quá lớn.",
        ),
        "invalid_range": (400, "to is before from.", "to sớm hơn from."),
        "invalid_status": (
            400,
            "Unknown status; use open or closed.",
            "Trạng thái không hợp lệ; dùng open hoặc closed.",
        ),
        "invalid_text": (
            422,
            "A text field contains a NUL character or a lone UTF-16 surrogate.",
            "Một trường văn bản chứa ký tự NUL hoặc ký tự UTF-16 lẻ.",
        ),
        "json_too_deep": (400, "The JSON body is nested too deeply.", "Nội dung JSON lồng nhau quá sâu."),
        "invalid_url": (400, "A URL must be http(s).", "Địa chỉ phải là http(s)."),
        "location_required": (
            422,
            "A location is required: lat and long, or address_string.",
            "Cần vị trí: lat và long, hoặc address_string.",
        ),
        "login_throttled": (
            429,
            "Too many failed sign-ins from here; wait before trying again.",
            "Đăng nhập sai nhiều lần; vui lòng chờ rồi thử lại.",
        ),
        "metrics_internal": (
            403,
            "Metrics are served to this host only (or with the scrape token).",
            "Số liệu vận hành chỉ phục vụ trong máy chủ (hoặc với mã truy cập).",
        ),
        "metrics_token": (
            401,
            "The metrics need the scrape token (Bearer).",
            "Cần mã truy cập để đọc số liệu vận hành (Bearer).",
        ),
        "missing_answer": (422, "An answer is required.", "Cần nhập nội dung trả lời."),
        "missing_apology": (422, "An apology is required.", "Cần nhập lời xin lỗi."),
        "missing_duplicate_of": (422, "The report it duplicates is required.", "Cần nêu phản ánh bị trùng."),
        "missing_question": (422, "A question is required.", "Cần nhập câu hỏi."),
        "missing_reason": (422, "A reason is required.", "Cần nhập lý do."),
        "missing_text": (422, "A text is required.", "Cần nhập nội dung."),
        "naive_datetime": (422, "Give the new due time with a time zone.", "Thời hạn mới cần có múi giờ."),
        "not_reopenable": (409, "Only a resolved report can be reopened.", "Chỉ mở lại được phản ánh đã được xử lý."),
        "not_resolved": (
            409,
            "A report can be rated once it is resolved.",
            "Chỉ đánh giá được khi phản ánh đã được xử lý xong.",
        ),
        "not_working_day": (422, "The due date is not a working day.", "Ngày hạn không phải ngày làm việc."),
        "not_your_report": (
            403,
            "This citizen token does not belong to this report.",
            "Mã công dân không khớp với phản ánh này.",
        ),
        "number_too_long": (400, "A number in the JSON body is too long.", "Một số trong nội dung JSON quá dài."),
        "otp_attempts_exhausted": (
            429,
            "Too many wrong codes; ask for a new one.",
            "Nhập sai mã quá nhiều lần; vui lòng yêu cầu mã mới.",
        ),
        "otp_expired": (
            401,
            "This code has expired; ask for a new one.",
            "Mã xác thực đã hết hạn; vui lòng yêu cầu mã mới.",
        ),
        "otp_invalid": (401, "Wrong phone number or code.", "Sai số điện thoại hoặc mã xác thực."),
        "otp_resend_too_soon": (429, "Wait before asking for another code.", "Vui lòng chờ trước khi yêu cầu mã mới."),
        "outside_jurisdiction": (
            400,
            "The place is outside the jurisdiction (province) the request names.",
            "Vị trí nằm ngoài tỉnh (jurisdiction_id) mà yêu cầu nêu.",
        ),
        "outside_service_area": (
            422,
            "The place is outside the province's service area.",
            "Vị trí nằm ngoài địa bàn tiếp nhận của tỉnh.",
        ),
        "own_account": (
            403,
            "Not on your own account: another administrator must do it.",
            "Không thực hiện được trên tài khoản của chính bạn: cần một quản trị viên khác.",
        ),
        "password_too_short": (422, "The password is too short.", "Mật khẩu quá ngắn."),
        "password_unchanged": (
            422,
            "The new password is the same as the current one.",
            "Mật khẩu mới trùng với mật khẩu hiện tại.",
        ),
        "period_in_future": (400, "The period has not started yet.", "Kỳ báo cáo chưa bắt đầu."),
        "period_too_long": (400, "A custom period is at most 3 years.", "Kỳ tùy chọn tối đa 3 năm."),
        "phone_not_mobile": (
            422,
            "Give a mobile number: the code is sent by SMS.",
            "Hãy nhập số di động: mã xác thực được gửi qua tin nhắn.",
        ),
        "phone_not_vietnamese": (
            422,
            "Only Vietnamese mobile numbers can sign in.",
            "Chỉ đăng nhập được bằng số di động Việt Nam.",
        ),
        "photo_link_expired": (403, "This photo link has expired.", "Đường dẫn gửi ảnh đã hết hạn."),
        "photo_link_needs_phone": (
            422,
            "The photo link is sent by SMS: a phone number is needed.",
            "Đường dẫn gửi ảnh được gửi bằng SMS: cần số điện thoại.",
        ),
        "photo_not_image": (
            422,
            "The upload is not a photo (JPEG, PNG, WebP, HEIC or GIF).",
            "Tệp tải lên không phải ảnh (JPEG, PNG, WebP, HEIC, GIF).",
        ),
        "photo_not_found": (
            404,
            "No such public photo (it may still be processing).",
            "Không có ảnh công khai này (ảnh có thể đang được xử lý).",
        ),
        "photo_required": (422, "This category needs at least one photo.", "Loại phản ánh này cần ít nhất một ảnh."),
        "photo_too_large": (413, "The photo is larger than allowed.", "Ảnh lớn hơn mức cho phép."),
        "province_forbidden": (403, "That is another province's.", "Mục này thuộc tỉnh khác."),
        "push_endpoint_not_allowed": (
            422,
            "This push endpoint is not a known push service.",
            "Địa chỉ nhận thông báo đẩy không thuộc dịch vụ được chấp nhận.",
        ),
        "push_keys_invalid": (
            422,
            "The push subscription's keys are not valid.",
            "Khóa của đăng ký nhận thông báo đẩy không hợp lệ.",
        ),
        "push_not_configured": (
            404,
            "Web Push is not configured on this server.",
            "Máy chủ chưa bật thông báo đẩy (Web Push).",
        ),
        "radius_without_point": (400, "radius needs lat and long.", "radius cần lat và long."),
        "range_too_long": (
            400,
            "start_date and end_date may not span more than 90 days.",
            "Khoảng start_date–end_date không được quá 90 ngày.",
        ),
        "rate_limited": (429, "Too many requests; try again later.", "Gửi quá nhiều yêu cầu; vui lòng thử lại sau."),
        "reopen_window_passed": (409, "The time to reopen this report has passed.", "Đã quá thời hạn mở lại phản ánh."),
        "report_forbidden": (403, "This report belongs to another unit.", "Phản ánh này thuộc đơn vị khác."),
        "report_not_found": (404, "No report has this tracking code.", "Không có phản ánh nào với mã này."),
        "report_not_open": (422, "That report is not open any more.", "Phản ánh này đã kết thúc."),
        "request_not_found": (404, "That service_request_id was not found.", "Không tìm thấy service_request_id này."),
        "role_not_grantable": (
            403,
            "You may not give this role in this unit.",
            "Bạn không được cấp vai trò này trong đơn vị này.",
        ),
        "same_unit": (422, "The report is already with this unit.", "Phản ánh đã thuộc đơn vị này."),
        "secret_in_url": (
            400,
            "A secret was sent in the URL; send it in a header or the body.",
            "Không đặt mã bí mật trong địa chỉ URL; gửi qua header hoặc nội dung yêu cầu.",
        ),
        "self_duplicate": (422, "A report cannot duplicate itself.", "Phản ánh không thể trùng với chính nó."),
        "service_code_missing": (400, "service_code is required.", "Thiếu service_code."),
        "service_not_found": (404, "That service_code was not found.", "Không tìm thấy service_code này."),
        "service_request_id_missing": (400, "service_request_id is required.", "Thiếu service_request_id."),
        "signin_required": (
            401,
            "Sign in with your phone number to report in this category.",
            "Cần đăng nhập bằng số điện thoại để gửi phản ánh loại này.",
        ),
        "sms_needs_signin": (
            403,
            "Sign in with your phone number to get SMS.",
            "Cần đăng nhập bằng số điện thoại để nhận tin nhắn SMS.",
        ),
        "sms_unavailable": (
            503,
            "The SMS could not be sent; try again shortly.",
            "Chưa gửi được tin nhắn; vui lòng thử lại sau ít phút.",
        ),
        "status_missing": (400, "status is required.", "Thiếu status."),
        "storage_unavailable": (503, "Photo storage is unavailable.", "Kho lưu trữ ảnh đang không truy cập được."),
        "subscription_not_found": (
            404,
            "No subscription has this token.",
            "Không tìm thấy đăng ký nhận thông báo này.",
        ),
        "target_unit_forbidden": (
            403,
            "That unit is outside your subtree.",
            "Đơn vị này nằm ngoài phạm vi quản lý của bạn.",
        ),
        "text_too_long": (422, "A text field is too long.", "Một trường văn bản quá dài."),
        "to_needs_custom": (400, "to is only for period=custom.", "Chỉ dùng 'to' với period=custom."),
        "too_many_photos": (422, "Too many photos for one report.", "Quá nhiều ảnh cho một phản ánh."),
        "too_many_values": (400, "Too many values for one parameter.", "Quá nhiều giá trị cho một tham số."),
        "unauthorized": (
            401,
            "Sign in first (a valid bearer token is required).",
            "Cần đăng nhập (thiếu hoặc sai mã truy cập).",
        ),
        "unit_forbidden": (
            403,
            "That unit's reports are not visible to you.",
            "Bạn không được xem phản ánh của đơn vị này.",
        ),
        "unit_not_found": (404, "No such unit.", "Không có đơn vị này."),
        "unknown_area": (
            422,
            "The request names an area that does not exist.",
            "Yêu cầu nêu một địa bàn không tồn tại.",
        ),
        "unknown_attribute": (422, "Unknown attribute for this category.", "Thuộc tính không thuộc loại phản ánh này."),
        "unknown_category": (
            422,
            "The request names a category that does not exist.",
            "Yêu cầu nêu một lĩnh vực không tồn tại.",
        ),
        "unknown_channel": (422, "Unknown notification channel.", "Kênh nhận thông báo không hợp lệ."),
        "unknown_jurisdiction": (
            404,
            "The jurisdiction_id names no province this deployment serves.",
            "jurisdiction_id không phải tỉnh mà hệ thống phục vụ.",
        ),
        "unknown_parent": (
            422,
            "The report it duplicates does not exist.",
            "Phản ánh được đánh dấu trùng không tồn tại.",
        ),
        "unknown_peer_group": (404, "No such peer group.", "Không có nhóm này."),
        "unknown_province": (
            422,
            "The request names a province this deployment does not serve.",
            "Yêu cầu nêu một tỉnh mà hệ thống không phục vụ.",
        ),
        "unknown_role": (422, "Unknown role for a staff account.", "Vai trò không hợp lệ cho tài khoản cán bộ."),
        "unknown_status": (422, "Unknown status.", "Trạng thái không hợp lệ."),
        "unknown_unit": (
            422,
            "The request names a unit that does not exist (or is inactive).",
            "Yêu cầu nêu một đơn vị không tồn tại (hoặc đã ngừng hoạt động).",
        ),
        "unknown_upload": (
            422,
            "An upload is unknown, expired or already used.",
            "Ảnh tải lên không tồn tại, đã hết hạn hoặc đã được dùng.",
        ),
        "update_id_missing": (400, "update_id is required.", "Thiếu update_id."),
        "upload_already_used": (
            409,
            "This upload is already attached to a report.",
            "Ảnh tải lên này đã được gắn vào một phản ánh khác.",
        ),
        "upload_missing": (
            422,
            "An upload has no photo yet: PUT it to its URL first.",
            "Ảnh tải lên chưa có dữ liệu: hãy tải ảnh lên địa chỉ đã cấp trước.",
        ),
        "use_return": (
            422,
            "Use 'return' to send a report back to the dispatcher.",
            "Dùng thao tác 'trả lại' để chuyển về bộ phận điều phối.",
        ),
        "user_not_found": (404, "No such user.", "Không có người dùng này."),
        "username_taken": (409, "This username is taken.", "Tên đăng nhập này đã có người dùng."),
        "validation_error": (422, "The request has invalid fields.", "Dữ liệu không hợp lệ."),
        "wrong_password": (403, "The current password is wrong.", "Mật khẩu hiện tại không đúng."),
        "zalo_bad_signature": (401, "The Zalo signature does not match.", "Chữ ký Zalo không khớp."),
        "zalo_stale": (
            401,
            "The Zalo event is too old (or from the future): refused as a possible replay.",
            "Sự kiện Zalo đã quá cũ: bị từ chối.",
        ),
        "zalo_unsigned": (401, "Missing or malformed Zalo signature.", "Thiếu hoặc sai chữ ký Zalo."),
    }.items()
}


def wants_vietnamese() -> bool:
    best = request.accept_languages.best_match(["vi", "en"], default="vi")
    return best == "vi"


def problem(
    status: int, code: str, message_en: str, message_vi: str | None = None, headers: dict | None = None, **extra
) -> Response:
    """Build the one error shape (RFC 9457 problem details plus `code` and `message`)."""
    vi = wants_vietnamese()
    body = {
        "type": f"https://fieldreport.example/problems/{code}",
        "title": message_en,
        "status": status,
        "code": code,
        "message": (message_vi or message_en) if vi else message_en,
        **extra,
    }
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def domain_problem(exc: DomainError) -> Response:
    headers = {}
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, RateLimited) and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return problem(exc.status, exc.code, exc.message_en, exc.message_vi, headers, **exc.extra)


_HTTP_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập.",
    403: "Không có quyền.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    409: "Xung đột dữ liệu.",
    413: "Dữ liệu gửi lên quá lớn.",
    415: "Kiểu dữ liệu không được hỗ trợ.",
    422: "Dữ liệu không hợp lệ.",
    429: "Quá nhiều yêu cầu.",
}


def _from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    extra = {}
    # flask-smorest puts marshmallow messages in exc.data["messages"]
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        extra["errors"] = data["messages"]
    code = {422: "validation_error"}.get(status, (exc.name or "error").lower().replace(" ", "_"))
    en = {422: "The request has invalid fields."}.get(status, exc.description or exc.name)
    resp = problem(status, code, en, _HTTP_VI.get(status), **extra)
    methods = getattr(exc, "valid_methods", None)  # MethodNotAllowed's
    if status == 405 and methods:
        resp.headers["Allow"] = ", ".join(methods)
    return resp


def _database_down(exc: Exception) -> Response:
    """The database refused or dropped the connection (or its breaker is open): retry later."""
    from fieldreport.extensions import db  # the one error mapping needs the session to reset

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 (the connection itself may be gone)
        db.session.remove()
    return domain_problem(
        ServiceUnavailable(
            "database_unavailable", "The database is unavailable.", "Cơ sở dữ liệu đang không truy cập được."
        )
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_problem)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(HTTPException, _from_http)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never leak a traceback; log it
        if isinstance(exc, HTTPException):
            return _from_http(exc)
        app.logger.exception("unhandled error")
        return problem(500, "internal_error", "Internal error.", "Lỗi hệ thống.")
