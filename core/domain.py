"""Domain primitives shared by every business app: the one ``DomainError`` hierarchy,
the ``Actor`` that every service takes, and the currency list.

``core`` is the bottom of the house: every app imports from it, it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import Model


class DomainError(Exception):
    """A rule of the domain refused the change. Nothing was written.

    The admin shows ``message`` as an error message, the portal as a form error and
    the API as a 409 (``code`` tells integrators which rule).
    """

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidTransition(DomainError):
    code = "invalid_transition"


class NotPermitted(DomainError):
    code = "not_permitted"


class ValidationFailed(DomainError):
    """Input that a service cannot accept (the API answers 400, not 409)."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


@dataclass(frozen=True)
class Actor:
    """Who asks for a change and through which door (admin, portal, api, system).

    A staff user acts with their Django permissions; a vendor or broker (through the
    portal or their API key) may act only on their own objects; the system (sweeps,
    seeds) may do anything a transition allows.
    """

    user: AbstractBaseUser | AnonymousUser | None = None
    # A partners.Vendor / partners.Broker (core names no business model).
    vendor: Model | Any | None = None
    broker: Model | Any | None = None
    via: str = "system"
    label: str = ""

    @property
    def is_system(self) -> bool:
        return self.user is None and self.vendor is None and self.broker is None

    @property
    def is_partner(self) -> bool:
        return self.vendor is not None or self.broker is not None

    def has_perm(self, perm: str) -> bool:
        if self.is_system:
            return True
        if self.is_partner:
            return False
        return bool(self.user is not None and self.user.has_perm(perm))

    def require_perm(self, perm: str, action: str) -> None:
        if not self.has_perm(perm):
            raise NotPermitted(f"You do not have permission to {action}.")

    @property
    def audit_user(self) -> Any:
        user = self.user
        return user if user is not None and user.is_authenticated else None

    def __str__(self) -> str:
        if self.label:
            return self.label
        if self.vendor is not None:
            who = f"vendor {self.vendor.name}"
        elif self.broker is not None:
            who = f"broker {self.broker.name}"
        elif self.user is not None and self.user.is_authenticated:
            who = self.user.get_username()
        else:
            who = "system"
        return f"{who} via {self.via}"


SYSTEM = Actor()

# ISO 4217 active currency codes.
CURRENCIES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG
""".split()
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]
