"""The Invox Medical API's response shapes on the wire (CONTRACTS §3)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class InvoxTokenOut(BaseModel):
    """The access token, under Invox-style and OAuth2 names alike."""

    accessToken: str
    expiresIn: int
    tokenType: str = "Bearer"
    access_token: str
    expires_in: int
    token_type: str = "Bearer"
    token: str

    @classmethod
    def of(cls, token: str, expires_in: int) -> InvoxTokenOut:
        return cls(
            accessToken=token,
            expiresIn=expires_in,
            access_token=token,
            expires_in=expires_in,
            token=token,
        )


class InvoxPresignOut(BaseModel):
    presignedUrl: str
    requestId: str


class InvoxSegment(BaseModel):
    start: int | float
    end: int | float
    text: str
    speaker: str | None = None


class InvoxTranscriptionOut(BaseModel):
    transcription: list[InvoxSegment]
    vttTranscription: str | None = None
    processingStatus: Literal["PENDING", "COMPLETED", "ERROR"]
    transcriptionStatus: Literal["PENDING", "COMPLETED", "ERROR"]
    errorMessage: str | None = None
