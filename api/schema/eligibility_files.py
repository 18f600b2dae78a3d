"""Eligibility files in the API: the job and its report, and the upload (issue: eligibility
files). The processing itself is ``api.services.eligibility_files``."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from api.auth.permissions import requires
from api.auth.policy import ELIGIBILITY_READ, ELIGIBILITY_WRITE
from api.resolvers.mutations import commit, discard
from api.schema.connections import AfterCursor, CountedConnection, PageSize, build_connection
from api.schema.eligibility_changes import ensure_manages
from api.schema.lookups import visible_group
from api.schema.nodes import load_nodes
from api.schema.user_errors import UserError, user_errors
from api.services.eligibility_files.intake import Upload as FileUpload
from api.services.eligibility_files.intake import file_too_large, guess_format, receive
from api.services.rules import RuleViolation
from db import models
from db.models import FileFormat, FileStatus
from db.queries import eligibility_files as queries
from db.queries.paging import PageRequest

if TYPE_CHECKING:
    from api.schema.groups import Group

strawberry.enum(FileFormat, description="CSV: the documented CSV roster. X12_834: ANSI X12 834.")
strawberry.enum(
    FileStatus,
    description="The file's job: RECEIVED (waiting for a worker), VALIDATING (reading the "
    "file), APPLYING (member by member), COMPLETED (every change applied or waiting for a "
    "rep), AWAITING_APPROVAL (a full file that would terminate more than the group's safety "
    "share of its roster: nothing applied until a rep decides), COMPLETED_WITH_ERRORS "
    "(some lines or changes refused: see `problems`), REJECTED (the file could not be read "
    "at all, or a rep refused it: see `error`).",
)

GroupRef = Annotated["Group", strawberry.lazy("api.schema.groups")]


@strawberry.type(description="One line of a file's error report.")
class EligibilityFileProblem(relay.Node):
    pk: relay.NodeID[int]
    position: int = strawberry.field(
        description="Where in the file: the line (CSV) or segment (X12) number from 1; 0 "
        "for the file as a whole."
    )
    member: str | None = strawberry.field(description="The member ID or name it is about.")
    code: str = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="What is wrong and what to fix.")

    @classmethod
    def from_row(cls, row: models.EligibilityFileProblem) -> Self:
        return cls(
            pk=row.id, position=row.position, member=row.member, code=row.code,
            message=row.message,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.file_problem, cls.from_row)


@strawberry.type(description="A page of a file's error report, in file order.")
class EligibilityFileProblemConnection(CountedConnection[EligibilityFileProblem]):
    pass


@strawberry.type(description="Members of a file processed so far.")
class FileProgress:
    processed: int = strawberry.field(description="Members (families) processed.")
    total: int | None = strawberry.field(description="Members in the file; null until read.")


@strawberry.type(description="An eligibility file a group sent, and its processing job.")
class EligibilityFile(relay.Node):
    pk: relay.NodeID[int]
    group_pk: strawberry.Private[int]
    problem_total: strawberry.Private[int]
    file_name: str = strawberry.field(description="The name it was uploaded with.")
    format: FileFormat = strawberry.field(description="How the file is written.")
    source: str = strawberry.field(description="PORTAL, EDI or CLI.")
    status: FileStatus = strawberry.field(description="Where the job is.")
    progress: FileProgress = strawberry.field(description="Members processed so far.")
    applied: int = strawberry.field(description="Changes applied.")
    pending_review: int = strawberry.field(description="Changes waiting for a rep.")
    rejected: int = strawberry.field(description="Lines or changes refused.")
    error: str | None = strawberry.field(
        description="Why a REJECTED file could not be read, or why a file awaits approval."
    )
    full_file: bool = strawberry.field(
        description="A full-file 834 (the whole roster), compared with the group's."
    )
    missing_from_file: int | None = strawberry.field(
        description="A full file's covered members it leaves out (see `problems`, code "
        "MISSING_FROM_FILE, for who and what was done); null for a change file."
    )
    reviewed_at: dt.datetime | None = strawberry.field(
        description="When a rep approved or rejected a file held for approval."
    )
    size_bytes: int = strawberry.field(description="Size as received, in bytes.")
    received_at: dt.datetime = strawberry.field(description="When it arrived (UTC).")
    started_at: dt.datetime | None = strawberry.field(description="When its job started.")
    finished_at: dt.datetime | None = strawberry.field(description="When its job ended.")
    report_path: str = strawberry.field(
        description="Path of the error report as CSV (GET with the bearer token)."
    )
    acknowledgment_path: str | None = strawberry.field(
        description="Path of the 999 acknowledgment of an X12 file (GET with the bearer "
        "token); null for a CSV file or before the file is read."
    )

    @classmethod
    def from_row(cls, row: models.EligibilityFile) -> Self:
        return cls(
            pk=row.id, group_pk=row.group_id, problem_total=row.problem_count,
            file_name=row.file_name, format=row.format, source=row.source, status=row.status,
            progress=FileProgress(processed=row.members_processed, total=row.members_total),
            applied=row.applied_count, pending_review=row.pending_count,
            rejected=row.rejected_count, error=row.error, size_bytes=row.size_bytes,
            full_file=row.full_file, missing_from_file=row.missing_count,
            reviewed_at=row.reviewed_at,
            received_at=row.created_at, started_at=row.started_at,
            finished_at=row.finished_at,
            report_path=f"/exports/eligibility-files/{row.id}/problems.csv",
            acknowledgment_path=(
                f"/exports/eligibility-files/{row.id}/999.x12" if row.acknowledgment else None
            ),
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(node_ids, info.context.loaders.eligibility_file, cls.from_row)

    @strawberry.field(description="The group that sent it.")
    async def group(self, info: strawberry.Info) -> GroupRef | None:
        from api.schema.groups import Group

        row = await info.context.loaders.group.load(self.group_pk)
        return None if row is None else Group.from_row(row)

    @strawberry.field(
        description="The error report in file order, at most 100 per page.",
        extensions=requires(ELIGIBILITY_READ),
    )
    async def problems(
        self,
        info: strawberry.Info,
        first: PageSize = 20,
        after: AfterCursor = None,
    ) -> EligibilityFileProblemConnection:
        ctx = info.context
        page = await queries.problems_page(
            ctx.session, ctx.principal, file_id=self.pk, page=PageRequest(first, after)
        )
        total = self.problem_total

        async def count() -> int:
            return total

        return build_connection(
            EligibilityFileProblemConnection, page, EligibilityFileProblem.from_row, count
        )


@strawberry.type(description="A page of a group's eligibility files, newest first.")
class EligibilityFileConnection(CountedConnection[EligibilityFile]):
    pass


async def group_files(
    info: strawberry.Info, *, group_pk: int, first: int, after: str | None
) -> EligibilityFileConnection:
    """``Group.eligibilityFiles``, batched across the groups of a page."""
    loaders = info.context.loaders
    page = await loaders.file_pages(PageRequest(first, after)).load(group_pk)

    async def count() -> int:
        return int(await loaders.file_counts().load(group_pk))

    return build_connection(EligibilityFileConnection, page, EligibilityFile.from_row, count)


@strawberry.input(description="A file of eligibility changes for one group.")
class EligibilityFileUploadInput:
    group_id: relay.GlobalID = strawberry.field(description="The group's `id`.")
    file: Upload = strawberry.field(
        description="The file (GraphQL multipart request): the CSV roster or an X12 834. "
        "At most PORTAL_MAX_FILE_BYTES (50 MB by default)."
    )


@strawberry.enum(description="Why eligibilityFileUpload refused; nothing was received.")
class EligibilityFileUploadErrorCode(enum.Enum):
    GROUP_NOT_FOUND = strawberry.enum_value("GROUP_NOT_FOUND", description="No such group.")
    EMPTY_FILE = strawberry.enum_value("EMPTY_FILE", description="The file has no content.")
    FILE_TOO_LARGE = strawberry.enum_value(
        "FILE_TOO_LARGE", description="Over the size limit; split the file."
    )


@strawberry.type(description="An eligibilityFileUpload failure.")
class EligibilityFileUploadUserError(UserError):
    code: EligibilityFileUploadErrorCode = strawberry.field(description="Machine-readable.")


@strawberry.type(description="The received file (its job runs in the background), or why not.")
class EligibilityFileUploadPayload:
    file: EligibilityFile | None = strawberry.field(description="Null when refused.")
    duplicate: bool = strawberry.field(
        description="True when the group sent these exact bytes before: `file` is that "
        "earlier file and nothing is applied again."
    )
    user_errors: list[EligibilityFileUploadUserError] = strawberry.field(
        description="Empty on success."
    )


async def _read(upload: Upload, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes: enough to tell an oversize file without holding it all."""
    content: bytes = await upload.read(limit + 1)  # type: ignore[attr-defined]
    if len(content) > limit:
        raise RuleViolation([file_too_large(limit)])
    return content


@strawberry.type
class EligibilityFileMutations:
    @strawberry.mutation(
        description="Upload an eligibility file for a group (eligibility:write; a benefit "
        "leader needs eligibility MANAGE). Send it as a GraphQL multipart request with the "
        "header `Apollo-Require-Preflight: true`. The file is processed in the background: "
        "follow `file.status` and `file.progress`.",
        extensions=requires(ELIGIBILITY_WRITE),
    )
    async def eligibility_file_upload(
        self,
        info: strawberry.Info,
        input: Annotated[EligibilityFileUploadInput, strawberry.argument(description="File.")],
    ) -> EligibilityFileUploadPayload:
        ctx = info.context
        try:
            group = await visible_group(info, input.group_id, field=("groupId",))
            ensure_manages(info, group)
            content = await _read(input.file, ctx.settings.max_file_bytes)
            name = getattr(input.file, "filename", None) or "upload"
            upload = FileUpload(
                name, content, guess_format(content), source=_source(info),
                user_id=ctx.principal.user_id, client_id=ctx.principal.client_id,
            )  # fmt: skip
            received = await receive(
                ctx.session, group=group, upload=upload, max_bytes=ctx.settings.max_file_bytes
            )
        except RuleViolation as refused:
            await discard(info)
            errors = user_errors(
                EligibilityFileUploadUserError, EligibilityFileUploadErrorCode, refused.problems
            )
            return EligibilityFileUploadPayload(file=None, duplicate=False, user_errors=errors)
        file = received.file
        changes = {
            "fileName": file.file_name,
            "bytes": file.size_bytes,
            "duplicate": received.duplicate,
        }
        await commit(
            info, "eligibilityFile.upload", target_type="EligibilityFile",
            target_id=str(file.id), changes=changes,
        )  # fmt: skip
        return EligibilityFileUploadPayload(
            file=EligibilityFile.from_row(file), duplicate=received.duplicate, user_errors=[]
        )


def _source(info: strawberry.Info) -> str:
    """EDI operations send files with client credentials; people, through the portal."""
    return "PORTAL" if info.context.principal.user_id is not None else "EDI"
