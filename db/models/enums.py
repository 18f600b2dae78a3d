"""Closed sets of the domain (SPEC §2), stored as checked strings."""

from __future__ import annotations

import enum


class GroupStatus(enum.StrEnum):
    PENDING_SETUP = "PENDING_SETUP"
    ACTIVE = "ACTIVE"
    DELINQUENT = "DELINQUENT"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"


class BillingMode(enum.StrEnum):
    LIST_BILL = "LIST_BILL"
    SELF_BILL = "SELF_BILL"


class CoverageTier(enum.StrEnum):
    EMPLOYEE = "EMPLOYEE"
    EMPLOYEE_SPOUSE = "EMPLOYEE_SPOUSE"
    EMPLOYEE_CHILDREN = "EMPLOYEE_CHILDREN"
    FAMILY = "FAMILY"


class Relationship(enum.StrEnum):
    SUBSCRIBER = "SUBSCRIBER"
    SPOUSE = "SPOUSE"
    DOMESTIC_PARTNER = "DOMESTIC_PARTNER"
    CHILD = "CHILD"


class MemberStatus(enum.StrEnum):
    """ACTIVE: has or will have coverage; TERMINATED: all coverage ended; MERGED: a duplicate."""

    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"
    MERGED = "MERGED"


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class PlanType(enum.StrEnum):
    DPPO = "DPPO"
    DHMO = "DHMO"
    INDEMNITY = "INDEMNITY"
