"""What Rakuro does with the demo company's data: uses, disclosures, consents and rights requests.

Most of it is allowed. Now and then a job breaks a rule, and the event says which (``DemoEvent.violations``):
an IP address sent to Google Analytics, a provision to a third party without consent, a consignee nobody
registered, a notification to an analyzed account holder, log data used for notices, a use after the subject
asked for suspension of use.
"""

from __future__ import annotations

from schemas.activity import (
    ConsentAction,
    ConsentEvent,
    DisclosureEvent,
    ExternalRecipient,
    RightsRequestEvent,
    UseEvent,
)
from schemas.decisions import Aggregate, RecipientKind
from schemas.policy import RightsRequestType
from services.demo.company import Employee
from services.demo.world import DemoEvent, World

ANALYTICS = ExternalRecipient(kind=RecipientKind.COLLECTION_MODULE, id="google-analytics")
BENEFITS = ExternalRecipient(kind=RecipientKind.THIRD_PARTY, id="naniwa-benefits")
BENEFITS_NAME = "株式会社なにわ福利厚生"
BENEFITS_ADDRESS = "大阪府大阪市北区梅田一丁目1番1号 代表取締役 高橋 健一"
LABOUR_BUREAU = ExternalRecipient(kind=RecipientKind.THIRD_PARTY, id="labour-standards-office")
PAYROLL = ExternalRecipient(kind=RecipientKind.CONSIGNEE, id="sakura-payroll")
HELPDESK = ExternalRecipient(kind=RecipientKind.CONSIGNEE, id="hokuto-helpdesk")
UNREGISTERED_CONSIGNEE = ExternalRecipient(kind=RecipientKind.CONSIGNEE, id="minato-print-service")

SERVICE_USES = (
    ("fraud-detection", ["log_information.ip_address", "log_information.operation_history", "terminal_information"]),
    ("attendance-tally", ["transmission_data.arrival_departure_time", "transmission_data.personal_name"]),
    ("usage-insights", ["allied_data.system_usage_history", "allied_data.email_transmission_history"]),
    ("login-guard", ["login_credentials.login_id", "log_information.ip_address", "cookie"]),
)
CONTACT = ["user_information.name", "user_information.email_address"]


def _use(world: World, e: Employee, actor: str, purpose: str, data: list[str], *violations: str) -> DemoEvent:
    event = UseEvent.model_validate(
        {**world.envelope(e, actor), "spec": "rakuro.use/v1", "purpose": purpose, "data": data}
    )
    return world.activity(e, event, violations)


def _disclose(world: World, e: Employee, actor: str, fields: dict[str, object], *violations: str) -> DemoEvent:
    event = DisclosureEvent.model_validate({**world.envelope(e, actor), "spec": "rakuro.disclosure/v1", **fields})
    return world.activity(e, event, violations)


def service_use(world: World, e: Employee) -> DemoEvent | None:
    """A use for service provision; for a suspended subject, now and then a job that ignores the request."""
    actor, data = world.rng.choice(SERVICE_USES)
    if e.subject_id in world.suspended:
        return _use(world, e, actor, "service_provision", data, "use_after_suspension") if world.chance(0.25) else None
    return _use(world, e, actor, "service_provision", data)


def notification_use(world: World, e: Employee) -> DemoEvent | None:
    """Notices to users; sometimes a job picks log data for them (not a purpose of notices)."""
    if e.subject_id in world.suspended:
        return None
    if world.chance(0.15):
        data = ["log_information.operation_history", "log_information.ip_address"]
        return _use(world, e, "notice-mailer", "user_notification", data, "data_not_permitted_for_purpose")
    return _use(world, e, "notice-mailer", "user_notification", CONTACT)


def related_service_use(world: World, e: Employee) -> DemoEvent | None:
    """Related-service mails go to persons in charge; one to an analyzed account holder is a violation."""
    if e.subject_id in world.suspended:
        return None
    data = [*CONTACT, "user_information.organization_information"]
    if e.person_in_charge:
        return _use(world, e, "marketing-mailer", "related_service_notification", data)
    if world.chance(0.1):
        return _use(
            world, e, "marketing-mailer", "related_service_notification", CONTACT, "subject_not_permitted_for_purpose"
        )
    return None


def statistics_use(world: World, e: Employee) -> DemoEvent | None:
    if e.subject_id in world.suspended:
        return None
    event = UseEvent.model_validate(
        {
            **world.envelope(e, "statistics-batch"),
            "spec": "rakuro.use/v1",
            "purpose": "statistics",
            "data": ["transmission_data.arrival_departure_time", "user_information.department"],
            "aggregate": Aggregate(group_size=world.rng.randint(10, 400)),
        }
    )
    return world.activity(e, event)


def analytics(world: World, e: Employee) -> DemoEvent | None:
    """Google Analytics gets the cookie and the usage situation; a misconfigured tag also sends the IP address."""
    if e.subject_id in world.suspended:
        return None
    data = ["cookie.cookie_id", "log_information.usage_situation"]
    fields = {"purpose": "service_provision", "recipient": ANALYTICS, "data": data}
    if world.chance(0.03):
        fields["data"] = [*data, "log_information.ip_address"]
        return _disclose(world, e, "web-analytics", fields, "module_receives_identifiable_data")
    return _disclose(world, e, "web-analytics", fields)


def consignee(world: World, e: Employee) -> DemoEvent | None:
    """Payroll and helpdesk work delegated to registered consignees; rarely to one nobody registered."""
    if e.subject_id in world.suspended:
        return None
    if world.chance(0.06):
        fields = {
            "purpose": "service_provision",
            "recipient": UNREGISTERED_CONSIGNEE,
            "data": ["user_information.name", "user_information.department"],
        }
        return _disclose(world, e, "timesheet-printing", fields, "consignee_not_registered")
    if world.chance(0.6):
        data = ["user_information.name", "transmission_data.arrival_departure_time"]
        if e.bank_account is not None:
            data.append("user_information.bank_account_information")
        fields = {"purpose": "service_provision", "recipient": PAYROLL, "data": data}
        return _disclose(world, e, "payroll-export", fields)
    fields = {"purpose": "user_notification", "recipient": HELPDESK, "data": CONTACT}
    return _disclose(world, e, "helpdesk-bridge", fields)


def third_party(world: World, e: Employee) -> DemoEvent | None:
    """Provision to the benefits provider with consent (asked first), to authorities under Art. 4.1(1) or (4).

    Now and then the export runs for someone who never consented or withdrew: a provision without consent.
    """
    if e.subject_id in world.suspended:
        return None
    if world.chance(0.2):
        fields = {
            "purpose": "service_provision",
            "recipient": LABOUR_BUREAU,
            "recipient_name": e.tenant.labour_bureau,
            "data": ["transmission_data.personal_name", "transmission_data.arrival_departure_time"],
            "legal_basis": world.rng.choice(("laws_and_regulations", "government_cooperation")),
        }
        return _disclose(world, e, "labour-report-export", fields)
    provision: dict[str, object] = {
        "purpose": "service_provision",
        "recipient": BENEFITS,
        "recipient_name": BENEFITS_NAME,
        "recipient_address_or_representative": BENEFITS_ADDRESS,
        "data": ["user_information.name", "user_information.department"],
        "legal_basis": "consent",
    }
    reference = world.consents.get(e.subject_id)
    if reference is not None:
        return _disclose(world, e, "benefits-export", {**provision, "consent_reference": reference})
    if world.chance(0.75):
        return consent(world, e, ConsentAction.GRANT)
    stale = world.withdrawn.get(e.subject_id)
    fields = {**provision, "consent_reference": stale} if stale else provision
    return _disclose(world, e, "benefits-export", fields, "third_party_without_consent")


def consent(world: World, e: Employee, action: ConsentAction) -> DemoEvent:
    """The consent portal records a grant or a withdrawal of consent to the benefits provider."""
    if action is ConsentAction.GRANT:
        reference = world.next_consent_reference()
        world.consents[e.subject_id] = reference
    else:
        reference = world.consents.pop(e.subject_id)
        world.withdrawn[e.subject_id] = reference
    event = ConsentEvent.model_validate(
        {
            **world.envelope(e, "consent-portal"),
            "spec": "rakuro.consent/v1",
            "action": action,
            "consent_reference": reference,
            "recipient_id": BENEFITS.id,
            "purposes": ["service_provision"],
        }
    )
    return world.activity(e, event)


def withdraw_consent(world: World, e: Employee) -> DemoEvent | None:
    return consent(world, e, ConsentAction.WITHDRAW) if e.subject_id in world.consents else None


def rights_request(world: World, e: Employee) -> DemoEvent:
    """A request to the privacy desk: mostly suspension of use, which is lifted again later."""
    lifted = False
    if e.subject_id in world.suspended:
        request, lifted = RightsRequestType.SUSPENSION_OF_USE, True
        world.suspended.discard(e.subject_id)
    else:
        request = world.rng.choice(
            (RightsRequestType.SUSPENSION_OF_USE,) * 3 + (RightsRequestType.DISCLOSURE, RightsRequestType.CORRECTION)
        )
        if request is RightsRequestType.SUSPENSION_OF_USE:
            world.suspended.add(e.subject_id)
    event = RightsRequestEvent.model_validate(
        {**world.envelope(e, "privacy-desk"), "spec": "rakuro.rights/v1", "request": request, "lifted": lifted}
    )
    return world.activity(e, event)
