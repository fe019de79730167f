"""Query parameters the list routes share."""

from typing import Annotated

from litestar.params import Parameter

Skip = Annotated[int, Parameter(ge=0, description="Rows to skip (after filtering)")]
Limit = Annotated[int, Parameter(ge=1, le=1000, description="Rows to return at most")]
