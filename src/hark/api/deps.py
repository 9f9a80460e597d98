"""Request-scoped dependencies: the Hark instance and the caller's project."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from hark.service import Hark


def get_hark(request: Request) -> Hark:
    return request.app.state.hark


def get_project(
    hark: Annotated[Hark, Depends(get_hark)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    return hark.keys.authenticate(authorization)


HarkDep = Annotated[Hark, Depends(get_hark)]
ProjectDep = Annotated[str, Depends(get_project)]
