"""Per-request DataLoaders: related rows for a whole page in one statement each.

Each loader batches the keys requested while a level of the query resolves and returns
results in key order (a missing key gets an empty list or ``None``), so the number of
statements per request never grows with the page size. Nested lists with arguments (a
page of each group's members) get one loader per distinct set of arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.auth.principal import Principal
from api.services.balances import Balance
from api.services.billing_run import Line, build_lines_for
from api.services.dates import today
from api.services.delinquency.configuration import PolicyInForce, policies_in_force
from api.services.eligibility.premium_effect import next_invoice_month
from db.models import (
    AccessIssueEntry,
    BankAccount,
    ChangeItem,
    ChangeStatus,
    DelinquencyEpisode,
    DelinquencyLetter,
    DelinquencyTransition,
    EligibilityFile,
    EligibilityFileProblem,
    Group,
    GroupContact,
    IdCardRequest,
    Invoice,
    InvoiceStatus,
    Member,
    OtherCoverage,
    Payment,
    Plan,
    Refund,
    Remittance,
    RemittanceDifference,
    RemittanceLine,
    TierRate,
    User,
)
from db.queries import access_issues as access_issue_queries
from db.queries import bank_accounts as bank_account_queries
from db.queries import billing as billing_queries
from db.queries import changes as change_queries
from db.queries import cob as cob_queries
from db.queries import contacts as contact_queries
from db.queries import delinquency_episodes as episode_queries
from db.queries import delinquency_letters as letter_queries
from db.queries import eligibility_files as file_queries
from db.queries import groups as group_queries
from db.queries import id_cards as id_card_queries
from db.queries import member_records as record_queries
from db.queries import members as member_queries
from db.queries import portal_users as portal_user_queries
from db.queries import rates as rate_queries
from db.queries import refunds as refund_queries
from db.queries import remittances as remittance_queries
from db.queries.member_records import DualLinkRow, MemberRecord
from db.queries.members import CoverageRow, MemberFilter, MemberOrder
from db.queries.paging import Page, PageRequest
from db.queries.portal_users import PortalUserFilter, PortalUserRow
from db.queries.rates import ScheduleRow

V = TypeVar("V")

Fetch = Callable[[Sequence[int]], Awaitable[Mapping[int, V]]]


def _loader(fetch: Fetch[V], missing: Callable[[], V]) -> DataLoader[int, V]:
    async def load(keys: list[int]) -> list[V]:
        found = await fetch(keys)
        return [found[key] if key in found else missing() for key in keys]

    return DataLoader(load_fn=load)


@dataclass(slots=True)
class Loaders:
    """The request's loaders; create with ``Loaders.create`` in ``get_context``."""

    session: AsyncSession
    principal: Principal
    group: DataLoader[int, Group | None] = field(init=False)
    member: DataLoader[int, Member | None] = field(init=False)
    plan: DataLoader[int, Plan | None] = field(init=False)
    dependents: DataLoader[int, list[Member]] = field(init=False)
    coverages: DataLoader[int, list[CoverageRow]] = field(init=False)
    offered_plans: DataLoader[int, list[Plan]] = field(init=False)
    rate_schedule: DataLoader[int, ScheduleRow | None] = field(init=False)
    tier_rates: DataLoader[int, list[TierRate]] = field(init=False)
    contact: DataLoader[int, GroupContact | None] = field(init=False)
    contacts: DataLoader[int, list[GroupContact]] = field(init=False)
    id_card_request: DataLoader[int, IdCardRequest | None] = field(init=False)
    id_card_requests: DataLoader[int, list[IdCardRequest]] = field(init=False)
    other_coverage: DataLoader[int, OtherCoverage | None] = field(init=False)
    other_coverages: DataLoader[int, list[OtherCoverage]] = field(init=False)
    member_record: DataLoader[int, MemberRecord | None] = field(init=False)
    dual_links: DataLoader[int, list[DualLinkRow]] = field(init=False)
    eligibility_file: DataLoader[int, EligibilityFile | None] = field(init=False)
    file_problem: DataLoader[int, EligibilityFileProblem | None] = field(init=False)
    invoice: DataLoader[int, Invoice | None] = field(init=False)
    invoice_lines: DataLoader[int, list[billing_queries.LineRow]] = field(init=False)
    invoice_money: DataLoader[int, billing_queries.InvoiceMoney | None] = field(init=False)
    payment: DataLoader[int, Payment | None] = field(init=False)
    balance: DataLoader[int, Balance | None] = field(init=False)
    billed_member: DataLoader[int, billing_queries.BilledMember | None] = field(init=False)
    plan_label: DataLoader[int, billing_queries.PlanLabel | None] = field(init=False)
    bank_account: DataLoader[int, BankAccount | None] = field(init=False)
    remittance: DataLoader[int, Remittance | None] = field(init=False)
    remittance_superseding: DataLoader[int, Remittance | None] = field(init=False)
    remittance_lines: DataLoader[int, list[RemittanceLine]] = field(init=False)
    remittance_differences: DataLoader[int, list[RemittanceDifference]] = field(init=False)
    remittance_counts: DataLoader[int, int] = field(init=False)
    group_refunds: DataLoader[int, list[Refund]] = field(init=False)
    upcoming_lines: DataLoader[int, list[Line]] = field(init=False)
    group_bank_accounts: DataLoader[int, list[BankAccount]] = field(init=False)
    delinquency_letter: DataLoader[int, DelinquencyLetter | None] = field(init=False)
    delinquency_episodes: DataLoader[int, list[DelinquencyEpisode]] = field(init=False)
    delinquency_transitions: DataLoader[int, list[DelinquencyTransition]] = field(init=False)
    access_issue_entries: DataLoader[int, list[AccessIssueEntry]] = field(init=False)
    access_issue_user: DataLoader[int, User | None] = field(init=False)
    _with_arguments: dict[Hashable, DataLoader[int, Any]] = field(init=False, default_factory=dict)

    @classmethod
    def create(cls, session: AsyncSession, principal: Principal) -> Loaders:
        loaders = cls(session=session, principal=principal)
        loaders.group = loaders._one(group_queries.groups_by_ids)
        loaders.member = loaders._one(member_queries.members_by_ids)
        loaders.plan = loaders._one(group_queries.plans_by_ids)
        loaders.dependents = loaders._many(member_queries.dependents_by_subscriber)
        loaders.coverages = loaders._many(member_queries.coverages_by_member)
        loaders.offered_plans = loaders._many(group_queries.plans_by_group)
        loaders.rate_schedule = loaders._one(rate_queries.schedules_by_ids)
        loaders.tier_rates = loaders._many(rate_queries.tier_rates_by_schedule)
        loaders.contact = loaders._one(contact_queries.contacts_by_ids)
        loaders.contacts = loaders._many(contact_queries.contacts_by_group)
        loaders._add_eligibility_extras()
        loaders._add_billing()
        loaders._add_access_support()
        return loaders

    def _add_access_support(self) -> None:
        """Access issues' history and the people they name (support staff only: the
        fields' permission says so)."""
        self.access_issue_entries = self._many(access_issue_queries.entries_by_issue)
        self.access_issue_user = self._one(access_issue_queries.users_by_ids)

    def _add_billing(self) -> None:
        """Invoices, their lines and money, payments, balances (as of today) and the names
        on upcoming invoice lines, all scoped to the billing area."""
        self.invoice = self._one(billing_queries.invoices_by_ids)
        self.invoice_lines = self._many(billing_queries.lines_by_invoice)
        self.invoice_money = self._one(billing_queries.invoice_money)
        self.payment = self._one(billing_queries.payments_by_ids)
        self.balance = self._one(
            lambda session, principal, keys: billing_queries.group_balances(
                session, principal, keys, as_of=today()
            )
        )
        self.billed_member = self._one(billing_queries.billed_members)
        self.plan_label = self._one(billing_queries.plan_labels)
        self.bank_account = self._one(bank_account_queries.bank_accounts_by_ids)
        self.group_bank_accounts = self._many(bank_account_queries.bank_accounts_by_group)
        self.group_refunds = self._many(refund_queries.refunds_by_group)
        self.upcoming_lines = _loader(self._upcoming_lines, list)
        self.delinquency_letter = self._one(letter_queries.letters_by_ids)
        self.delinquency_episodes = self._many(episode_queries.episodes_by_group)
        self.delinquency_transitions = self._many(episode_queries.transitions_by_episode)
        self._add_remittances()

    def _upcoming_lines(self, group_ids: Sequence[int]) -> Awaitable[Mapping[int, list[Line]]]:
        """Next month's lines of every group asked (the resolver gates billing access)."""
        month = next_invoice_month(today())
        return build_lines_for(self.session, group_ids, month)

    def _add_remittances(self) -> None:
        """Self-billed remittances, their lines and differences, scoped to billing."""
        self.remittance = self._one(remittance_queries.remittances_by_ids)
        self.remittance_superseding = self._one(remittance_queries.superseding)
        self.remittance_lines = self._many(remittance_queries.lines_by_remittance)
        self.remittance_differences = self._many(remittance_queries.differences_by_remittance)
        self.remittance_counts = _loader(
            lambda keys: remittance_queries.count_remittances(self.session, self.principal, keys),
            lambda: 0,
        )

    def remittance_pages(self, page: PageRequest) -> DataLoader[int, Page[Remittance]]:
        """Group id -> that group's page of remittances, newest month first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[Remittance]]]:
            return remittance_queries.remittance_pages(self.session, self.principal, keys, page)

        return self._keyed(("remittance_pages", page), fetch, lambda: Page.empty(page))

    def _add_eligibility_extras(self) -> None:
        """ID-card requests, other coverage, COB facts and dual-coverage links of members."""
        self.id_card_request = self._one(id_card_queries.id_card_requests_by_ids)
        self.id_card_requests = self._many(id_card_queries.id_card_requests_by_member)
        self.other_coverage = self._one(cob_queries.other_coverages_by_ids)
        self.other_coverages = self._many(cob_queries.other_coverages_by_member)
        self.member_record = self._one(
            lambda session, principal, keys: record_queries.member_records(session, keys, principal)
        )
        self.dual_links = self._many(record_queries.dual_links_by_member)
        self.eligibility_file = self._one(file_queries.files_by_ids)
        self.file_problem = self._one(file_queries.problems_by_ids)

    def _one(
        self, query: Callable[[AsyncSession, Principal, Sequence[int]], Awaitable[Mapping[int, V]]]
    ) -> DataLoader[int, V | None]:
        return _loader(lambda keys: query(self.session, self.principal, keys), lambda: None)

    def _many(
        self,
        query: Callable[[AsyncSession, Principal, Sequence[int]], Awaitable[Mapping[int, list[V]]]],
    ) -> DataLoader[int, list[V]]:
        return _loader(lambda keys: query(self.session, self.principal, keys), list)

    def member_pages(
        self,
        flt: MemberFilter,
        page: PageRequest,
        order: MemberOrder = MemberOrder(),  # noqa: B008  (frozen, immutable)
    ) -> DataLoader[int, Page[Member]]:
        """Group id -> that group's page of members, for these arguments."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[Member]]]:
            return member_queries.members_pages(
                self.session, self.principal, group_ids=keys, flt=flt, page=page, order=order
            )

        return self._keyed(("member_pages", flt, page, order), fetch, lambda: Page.empty(page))

    def member_counts(self, flt: MemberFilter) -> DataLoader[int, int]:
        """Group id -> how many of its members match ``flt``."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return member_queries.count_members(
                self.session, self.principal, group_ids=keys, flt=flt
            )

        return self._keyed(("member_counts", flt), fetch, lambda: 0)

    def schedule_pages(
        self, plan_code: str | None, page: PageRequest
    ) -> DataLoader[int, Page[ScheduleRow]]:
        """Group id -> that group's page of rate schedules, newest first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[ScheduleRow]]]:
            return rate_queries.schedules_pages(
                self.session, self.principal, group_ids=keys, plan_code=plan_code, page=page
            )

        return self._keyed(("schedule_pages", plan_code, page), fetch, lambda: Page.empty(page))

    def schedule_counts(self, plan_code: str | None) -> DataLoader[int, int]:
        """Group id -> how many rate schedules it has (of ``plan_code``, when given)."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return rate_queries.count_schedules(
                self.session, self.principal, group_ids=keys, plan_code=plan_code
            )

        return self._keyed(("schedule_counts", plan_code), fetch, lambda: 0)

    def change_pages(
        self, statuses: tuple[ChangeStatus, ...], page: PageRequest
    ) -> DataLoader[int, Page[ChangeItem]]:
        """Group id -> that group's page of eligibility change items, newest first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[ChangeItem]]]:
            return change_queries.group_changes_pages(
                self.session, self.principal, group_ids=keys, statuses=statuses, page=page
            )

        return self._keyed(("change_pages", statuses, page), fetch, lambda: Page.empty(page))

    def change_counts(self, statuses: tuple[ChangeStatus, ...]) -> DataLoader[int, int]:
        """Group id -> how many change items it has (in ``statuses``, when given)."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return change_queries.count_group_changes(
                self.session, self.principal, group_ids=keys, statuses=statuses
            )

        return self._keyed(("change_counts", statuses), fetch, lambda: 0)

    def file_pages(self, page: PageRequest) -> DataLoader[int, Page[EligibilityFile]]:
        """Group id -> that group's page of eligibility files, newest first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[EligibilityFile]]]:
            return file_queries.files_pages(self.session, self.principal, group_ids=keys, page=page)

        return self._keyed(("file_pages", page), fetch, lambda: Page.empty(page))

    def file_counts(self) -> DataLoader[int, int]:
        """Group id -> how many eligibility files it has sent."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return file_queries.count_files(self.session, self.principal, group_ids=keys)

        return self._keyed(("file_counts",), fetch, lambda: 0)

    def invoice_pages(
        self, statuses: tuple[InvoiceStatus, ...], page: PageRequest
    ) -> DataLoader[int, Page[Invoice]]:
        """Group id -> that group's page of invoices, newest month first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[Invoice]]]:
            return billing_queries.invoices_pages(
                self.session, self.principal, group_ids=keys, statuses=statuses, page=page
            )

        return self._keyed(("invoice_pages", statuses, page), fetch, lambda: Page.empty(page))

    def invoice_counts(self, statuses: tuple[InvoiceStatus, ...]) -> DataLoader[int, int]:
        """Group id -> how many invoices it has (in ``statuses``, when given)."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return billing_queries.count_invoices(
                self.session, self.principal, group_ids=keys, statuses=statuses
            )

        return self._keyed(("invoice_counts", statuses), fetch, lambda: 0)

    def payment_pages(self, page: PageRequest) -> DataLoader[int, Page[Payment]]:
        """Group id -> that group's page of payments, newest received first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[Payment]]]:
            return billing_queries.payments_pages(
                self.session, self.principal, group_ids=keys, page=page
            )

        return self._keyed(("payment_pages", page), fetch, lambda: Page.empty(page))

    def payment_counts(self) -> DataLoader[int, int]:
        """Group id -> how many payments it has made."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return billing_queries.count_payments(self.session, self.principal, group_ids=keys)

        return self._keyed(("payment_counts",), fetch, lambda: 0)

    def letter_pages(self, page: PageRequest) -> DataLoader[int, Page[DelinquencyLetter]]:
        """Group id -> that group's page of delinquency letters, newest first."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[DelinquencyLetter]]]:
            return letter_queries.letters_pages(
                self.session, self.principal, group_ids=keys, page=page
            )

        return self._keyed(("letter_pages", page), fetch, lambda: Page.empty(page))

    def letter_counts(self) -> DataLoader[int, int]:
        """Group id -> how many delinquency letters of it the caller may see."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return letter_queries.count_letters(self.session, self.principal, group_ids=keys)

        return self._keyed(("letter_counts",), fetch, lambda: 0)

    def delinquency_policy(self) -> DataLoader[int, PolicyInForce | None]:
        """Group id -> its delinquency thresholds in force today (representatives only:
        the field's permission says so)."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, PolicyInForce]]:
            return policies_in_force(self.session, keys, as_of=today())

        return self._keyed(("delinquency_policy",), fetch, lambda: None)

    def portal_user(self) -> DataLoader[int, PortalUserRow | None]:
        """User id -> that portal user, when the caller manages one of their groups."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, PortalUserRow]]:
            return portal_user_queries.portal_users_by_ids(self.session, self.principal, keys)

        return self._keyed(("portal_user",), fetch, lambda: None)

    def portal_user_pages(
        self, flt: PortalUserFilter, page: PageRequest
    ) -> DataLoader[int, Page[PortalUserRow]]:
        """Group id -> that group's page of portal users, for these arguments."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, Page[PortalUserRow]]]:
            return portal_user_queries.portal_user_pages(
                self.session, self.principal, group_ids=keys, flt=flt, page=page
            )

        return self._keyed(("portal_user_pages", flt, page), fetch, lambda: Page.empty(page))

    def portal_user_counts(self, flt: PortalUserFilter) -> DataLoader[int, int]:
        """Group id -> how many of its portal users match ``flt``."""

        def fetch(keys: Sequence[int]) -> Awaitable[Mapping[int, int]]:
            return portal_user_queries.count_portal_users(
                self.session, self.principal, group_ids=keys, flt=flt
            )

        return self._keyed(("portal_user_counts", flt), fetch, lambda: 0)

    def _keyed(
        self, key: Hashable, fetch: Fetch[V], missing: Callable[[], V]
    ) -> DataLoader[int, V]:
        if key not in self._with_arguments:
            self._with_arguments[key] = _loader(fetch, missing)
        loader: DataLoader[int, V] = self._with_arguments[key]
        return loader
