"""Eligibility change requests (SPEC §2 Members and coverage): each change of a batch is
validated on its own and ends APPLIED, PENDING_REVIEW or REJECTED.

Modules by concern: ``changes`` (the change kinds and their stored payloads), ``rules``
(dates, limits, windows, age), ``spans`` (family coverage state and re-derived tiers), one
module per action, ``engine`` (batches, idempotency, savepoints), ``preview``, ``review``
and ``aging_out``.
"""
