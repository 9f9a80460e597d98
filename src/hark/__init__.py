"""Hark: self-hosted asynchronous speech-to-text, wire-compatible with the Soniox REST API v1."""

__version__ = "0.1.0"
