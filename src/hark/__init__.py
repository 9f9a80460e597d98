"""Hark: self-hosted speech-to-text, wire-compatible with the Soniox REST API v1 (and its
realtime WebSocket), the legacy Soniox gRPC API, the Invox Medical API and OpenAI's audio API.

Comments citing "CONTRACTS §x" refer to docs/contracts/CONTRACTS.md."""

__version__ = "0.1.0"
