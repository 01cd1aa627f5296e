"""Collection events of the demo company: attendance, PCs and phones, profiles, and allied services.

Services send more than the contracts allow, as real ones do: browser details, GPS positions, and from the
allied connectors e-mail subjects and bodies, chat texts and file contents (English and Japanese, flat, nested
or base64-encoded). Minimization must remove all of it; the corpora below let tests check that it did.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from schemas.events import AlliedRecordType, CollectionKind, TransmissionRecordType
from services.demo.company import Employee
from services.demo.world import DemoEvent, World

EMAIL_SUBJECTS = (
    "Re: 残業申請について",
    "【至急】来週のシフト変更のお願い",
    "Fw: 健康診断の日程調整",
    "Invoice INV-2231 for the October deliveries",
    "Quarterly safety training reminder",
    "Your payslip questions from yesterday",
)
EMAIL_BODIES = (
    "お疲れ様です。来週の出荷スケジュールについて確認させてください。",
    "山田さん、明日の会議資料を共有します。ご確認をお願いいたします。",
    "体調不良のため本日は午後から出勤いたします。申し訳ございません。",
    "Hi team, please find the revised delivery plan attached. Let me know by Friday.",
    "Dear all, the warehouse will be closed on Saturday for the annual inspection.",
    "Could you approve my overtime for last week? I stayed until 22:00 on Tuesday.",
)
CHAT_TEXTS = (
    "今から倉庫に向かいます、15分ほど遅れます",
    "患者さんの予約を午後に移動しました",
    "了解しました、資料を確認しておきます",
    "Can someone cover my shift on Saturday morning?",
    "Lunch at the usual place at noon today?",
    "The build is broken again, looking into it now",
)
FILE_CONTENTS = (
    "月次売上レポート 2026年11月 営業部 社外秘",
    "勤務表 第4週 早番 遅番 夜勤 交代要員一覧",
    "Employee shift roster, week 48, confidential",
    "Customer contact list exported from the CRM",
)
ATTACHMENTS = (
    "見積書 No.1182 合計金額 1,280,000円 (税込)",
    "Signed NDA between Kobe Logistics and a supplier",
    "診断書 2026年11月20日 安静加療を要する",
)
MESSAGE_STRINGS = EMAIL_SUBJECTS + EMAIL_BODIES + CHAT_TEXTS + FILE_CONTENTS + ATTACHMENTS
"""Every message text the demo sends; none may survive minimization."""
SCHEDULER_TITLES = ("週次定例ミーティング", "安全衛生委員会", "Monthly closing review", "Client visit in Osaka")


def encoded(text: str) -> str:
    """Content as an allied connector sends a file: base64 of its bytes."""
    return base64.b64encode(text.encode()).decode()


ENCODED_CONTENTS = tuple(encoded(text) for text in FILE_CONTENTS + ATTACHMENTS)
OPERATIONS = ("view_timesheet", "submit_leave_request", "approve_overtime", "edit_shift", "export_report")
SCREENS = ("dashboard", "timesheet", "leave", "shift_calendar", "settings", "reports")


def user_profile(world: World, e: Employee) -> DemoEvent:
    """The profile the HR sync sends; a legacy import sends the password along (never collected)."""
    payload: dict[str, Any] = {
        "name": e.name,
        "department": e.department,
        "email_address": e.email_address,
        "telephone_number": e.telephone_number,
        "organization": {"name": e.tenant.name, "division": e.division},
        "login_id": e.login_id,
    }
    if e.bank_account is not None:
        payload["bank_account"] = dict(e.bank_account)
    source = "profile-sync"
    if world.chance(0.04):
        payload["password"] = f"Rakuro!{world.rng.randrange(10**8):08d}"
        source = "legacy-hr-import"
    world.profiled.add(e.subject_id)
    return world.collection(e, CollectionKind.USER_PROFILE, payload, source)


def terminal(world: World, e: Employee, mobile: bool) -> DemoEvent:
    payload: dict[str, Any]
    if mobile and e.phone_id is not None:
        payload = {"terminal_id": e.phone_id, "terminal_type": "mobile", "os": "Android 15", "app_version": "4.2.1"}
        return world.collection(e, CollectionKind.TERMINAL, payload, "attendance-mobile")
    payload = {"terminal_id": e.pc_id, "terminal_type": "pc", "os": "Windows 11", "user_agent": "Mozilla/5.0 (demo)"}
    return world.collection(e, CollectionKind.TERMINAL, payload, "attendance-web")


def access_log(world: World, e: Employee, operation: str | None = None) -> DemoEvent:
    now = world.now()
    payload: dict[str, Any] = {
        "ip_address": e.ip_address,
        "requested_at": (now - timedelta(milliseconds=world.rng.randrange(500))).isoformat(),
        "operation": operation or world.rng.choice(OPERATIONS),
        "screen": "dashboard" if operation else world.rng.choice(SCREENS),
    }
    if world.chance(0.3):
        payload["user_agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) demo"
    if world.chance(0.03):  # a service that should not, sends a mail subject along
        payload["email_subject"] = world.rng.choice(EMAIL_SUBJECTS)
    return world.collection(e, CollectionKind.ACCESS_LOG, payload, "attendance-web")


def cookie(world: World, e: Employee) -> DemoEvent:
    first_seen = world.now() - timedelta(days=world.rng.randrange(1, 400))
    payload = {"cookie_id": e.cookie_id, "first_seen_at": first_seen.isoformat()}
    return world.collection(e, CollectionKind.COOKIE, payload, "attendance-web")


def transmission(world: World, e: Employee, record_type: TransmissionRecordType, mobile: bool) -> DemoEvent:
    """Arrival and departure from the gate's IC-card reader; clock-in and out from the web or the phone app."""
    payload: dict[str, Any] = {
        "record_type": record_type.value,
        "at": world.now().isoformat(),
        "personal_name": e.name,
        "department": e.department,
    }
    if world.chance(0.5):
        payload["telephone_number"] = e.telephone_number
    if record_type in (TransmissionRecordType.ARRIVAL, TransmissionRecordType.DEPARTURE):
        payload["gate"] = world.rng.choice(("main-entrance", "loading-dock", "staff-door"))
        return world.collection(e, CollectionKind.TRANSMISSION, payload, "ic-card-gateway")
    if mobile:
        payload["gps"] = {
            "lat": round(34.69 + world.rng.random() / 10, 5),
            "lon": round(135.19 + world.rng.random() / 10, 5),
        }
        return world.collection(e, CollectionKind.TRANSMISSION, payload, "attendance-mobile")
    return world.collection(e, CollectionKind.TRANSMISSION, payload, "attendance-web")


def _allied(world: World, e: Employee, record_type: AlliedRecordType, fields: dict[str, Any], source: str) -> DemoEvent:
    payload = {"record_type": record_type.value, "occurred_at": world.now().isoformat(), **fields}
    return world.collection(e, CollectionKind.ALLIED, payload, source)


def login_history(world: World, e: Employee, logout: bool = False) -> DemoEvent:
    fields: dict[str, Any] = {"computer_name": e.computer_name, "logon_domain": e.tenant.tenant_id.upper()}
    if logout:
        fields["logged_out_at"] = world.now().isoformat()
    return _allied(world, e, AlliedRecordType.LOGIN_HISTORY, fields, "allied-pc-agent")


def email(world: World, e: Employee) -> DemoEvent:
    """An e-mail sent: the connector forwards subject and body, nested or flat, sometimes an attachment."""
    rng = world.rng
    subject, body = rng.choice(EMAIL_SUBJECTS), rng.choice(EMAIL_BODIES)
    fields: dict[str, Any] = {
        "application": rng.choice(("Outlook", "Gmail")),
        "recipient_count": rng.randint(1, 12),
        "size_bytes": rng.randrange(2_000, 80_000),
        "has_attachments": False,
    }
    style = rng.random()
    if style < 0.35:
        fields |= {"subject": subject, "body": body}
    elif style < 0.55:
        fields["message"] = {"subject": subject, "body": body, "to": [f"partner{rng.randrange(99)}@example.com"]}
    elif style < 0.70:
        fields |= {"subject": subject, "body": body, "attachment": encoded(rng.choice(ATTACHMENTS))}
        fields["has_attachments"] = True
    elif style < 0.75:
        fields |= {"件名": subject, "本文": body}
    source = "allied-m365" if fields["application"] == "Outlook" else "allied-google-workspace"
    return _allied(world, e, AlliedRecordType.EMAIL_TRANSMISSION, fields, source)


def chat(world: World, e: Employee) -> DemoEvent:
    rng = world.rng
    social = rng.random() < 0.1
    fields: dict[str, Any] = {
        "channel_type": "social_media" if social else "chat",
        "application": "X" if social else rng.choice(("Slack", "Microsoft Teams", "LINE WORKS")),
        "message_count": rng.randint(1, 30),
    }
    if rng.random() < 0.7:
        fields["text"] = rng.choice(CHAT_TEXTS)
    if rng.random() < 0.2:
        fields["channel_name"] = rng.choice(("#warehouse", "#general", "#night-shift"))
    return _allied(world, e, AlliedRecordType.MESSAGE_ACTIVITY, fields, "allied-slack")


def calendar(world: World, e: Employee) -> DemoEvent:
    """A scheduler entry: its title is collected (Art. 2.1(2)), its location is not."""
    fields: dict[str, Any] = {
        "application": "calendar",
        "title": world.rng.choice(SCHEDULER_TITLES),
        "ends_at": (world.now() + timedelta(minutes=world.rng.choice((30, 60, 90)))).isoformat(),
    }
    if world.chance(0.4):
        fields["location"] = world.rng.choice(("会議室A", "Zoom", "Osaka office"))
    return _allied(world, e, AlliedRecordType.SCHEDULER_ENTRY, fields, "allied-google-workspace")


def file_share(world: World, e: Employee) -> DemoEvent:
    rng = world.rng
    file_type = rng.choice(("xlsx", "pdf", "docx", "png"))
    fields: dict[str, Any] = {
        "application": rng.choice(("Box", "SharePoint", "Google Drive")),
        "file_type": file_type,
        "size_bytes": rng.randrange(10_000, 1_000_000),  # the contract counts up to 1e6
        "file_name": f"report-{rng.randrange(1000)}.{file_type}",
    }
    if rng.random() < 0.8:
        fields["content_base64"] = encoded(rng.choice(FILE_CONTENTS))
    return _allied(world, e, AlliedRecordType.FILE_SHARE, fields, "allied-m365")


def system_usage(world: World, e: Employee) -> DemoEvent:
    fields = {
        "application": world.rng.choice(("expense-workflow", "overtime-approval", "inventory-system")),
        "duration_s": world.rng.randrange(30, 3600),
    }
    return _allied(world, e, AlliedRecordType.SYSTEM_USAGE, fields, "allied-pc-agent")
