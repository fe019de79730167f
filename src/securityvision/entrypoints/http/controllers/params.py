"""Query parameters the list routes share."""

from typing import Annotated

from litestar.params import Parameter

# PostgreSQL's OFFSET is a bigint.
MAX_SKIP = 2**63 - 1

Skip = Annotated[int, Parameter(ge=0, le=MAX_SKIP, description="Rows to skip (after filtering)")]
Limit = Annotated[int, Parameter(ge=1, le=1000, description="Rows to return at most")]
