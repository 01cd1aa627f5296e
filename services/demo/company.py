"""The people of the demo: tenants (Registered Users) and their employees with profiles, PCs and phones.

Built from one ``random.Random`` so that a seed always gives the same company.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from schemas.events import SubjectType


@dataclass(frozen=True)
class Tenant:
    """A Registered User: a customer company of Rakuro."""

    tenant_id: str
    name: str
    domain: str
    area_code: str
    network: int
    labour_bureau: str


TENANTS = (
    Tenant("kobe-logistics", "Kobe Logistics K.K.", "kobe-logistics.example", "078", 1, "兵庫労働局"),
    Tenant("sapporo-foods", "Sapporo Foods Co., Ltd.", "sapporo-foods.example", "011", 2, "北海道労働局"),
    Tenant("naha-clinic", "Medical Corporation Naha Clinic", "naha-clinic.example", "098", 3, "沖縄労働局"),
    Tenant("sendai-software", "Sendai Software Inc.", "sendai-software.example", "022", 4, "宮城労働局"),
)
FAMILY_NAMES = (
    ("山田", "yamada"),
    ("鈴木", "suzuki"),
    ("佐藤", "sato"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("比嘉", "higa"),
)
GIVEN_NAMES = (
    ("太郎", "taro"),
    ("花子", "hanako"),
    ("健一", "kenichi"),
    ("由美", "yumi"),
    ("翔太", "shota"),
    ("美咲", "misaki"),
    ("大輔", "daisuke"),
    ("さくら", "sakura"),
    ("誠", "makoto"),
    ("陽菜", "hina"),
)
DEPARTMENTS = ("総務部", "人事部", "経理部", "営業部", "物流部", "開発部", "看護部", "製造部")
DIVISIONS = ("Head office", "Branch office", "Distribution center", "Plant")
PERSON_IN_CHARGE_EVERY = 10
"""Every tenth employee of a tenant (and its first) is a person in charge; the others are analyzed."""


@dataclass(frozen=True)
class Employee:
    """A data subject and everything the services know about them."""

    tenant: Tenant
    subject_id: str
    subject_type: SubjectType
    name: str
    department: str
    division: str
    login_id: str
    email_address: str
    telephone_number: str
    bank_account: dict[str, str] | None
    pc_id: str
    computer_name: str
    phone_id: str | None
    ip_address: str
    cookie_id: str

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def subject(self) -> dict[str, Any]:
        return {"type": self.subject_type.value, "id": self.subject_id}

    @property
    def person_in_charge(self) -> bool:
        return self.subject_type is SubjectType.PERSON_IN_CHARGE


def _hex(rng: random.Random, bits: int = 32) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _bank_account(rng: random.Random) -> dict[str, str]:
    return {
        "bank_code": f"{rng.choice((1, 5, 9, 10, 17, 33, 116, 149)):04d}",
        "branch_code": f"{rng.randrange(1, 1000):03d}",
        "account_type": rng.choice(("ordinary", "ordinary", "ordinary", "current", "savings")),
        "account_number": f"{rng.randrange(10**7):07d}",
    }


def make_employee(rng: random.Random, number: int) -> Employee:
    """Employee ``number``: tenants take turns, so every tenant has people of both subject types."""
    tenant = TENANTS[number % len(TENANTS)]
    local = number // len(TENANTS)
    family, family_romaji = rng.choice(FAMILY_NAMES)
    given, given_romaji = rng.choice(GIVEN_NAMES)
    has_phone = rng.random() < 0.7
    prefix = tenant.tenant_id.split("-")[0].upper()
    return Employee(
        tenant=tenant,
        subject_id=f"emp-{number:05d}",
        subject_type=SubjectType.PERSON_IN_CHARGE
        if local % PERSON_IN_CHARGE_EVERY == 0
        else SubjectType.ANALYZED_ACCOUNT_HOLDER,
        name=f"{family} {given}",
        department=rng.choice(DEPARTMENTS),
        division=rng.choice(DIVISIONS),
        login_id=f"{given_romaji[0]}.{family_romaji}{local}",
        email_address=f"{given_romaji}.{family_romaji}{local}@{tenant.domain}",
        telephone_number=f"{tenant.area_code}-{rng.randrange(200, 1000)}-{rng.randrange(10000):04d}",
        bank_account=_bank_account(rng) if rng.random() < 0.6 else None,
        pc_id=f"pc-{_hex(rng)}",
        computer_name=f"{prefix}-PC-{local:04d}",
        phone_id=f"mb-{_hex(rng)}" if has_phone else None,
        ip_address=f"10.{tenant.network}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        cookie_id=f"ck-{_hex(rng, 64)}",
    )


def make_company(rng: random.Random, employees: int) -> list[Employee]:
    """``employees`` people spread over the demo tenants."""
    if employees < 1:
        raise ValueError("the demo company needs at least one employee")
    return [make_employee(rng, number) for number in range(employees)]
