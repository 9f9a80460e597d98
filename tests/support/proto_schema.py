"""A comparable summary of a protobuf file descriptor: every message's fields (name,
number, type, repeated, message type, oneof) and the SpeechService's methods. Shared by
test_legacy_grpc.py (Hark's stubs) and legacy_soniox.py (the SDK's)."""

from __future__ import annotations


def _repeated(field) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 5.29 (and `label` is gone in 7)
        return field.is_repeated
    return field.label == field.LABEL_REPEATED


def _field(field) -> list:
    kind = field.message_type.full_name if field.message_type else ""
    oneof = field.containing_oneof.name if field.containing_oneof else ""
    return [field.name, field.number, field.type, _repeated(field), kind, oneof]


def schema(descriptor) -> dict:
    messages = {}

    def visit(message) -> None:
        messages[message.full_name] = sorted(_field(f) for f in message.fields)
        for nested in message.nested_types:
            visit(nested)

    for message in descriptor.message_types_by_name.values():
        visit(message)
    service = descriptor.services_by_name["SpeechService"]
    methods = sorted(
        [m.name, m.input_type.full_name, m.output_type.full_name, m.client_streaming]
        for m in service.methods
    )
    streaming = {m.name: m.server_streaming for m in service.methods}
    return {
        "service": service.full_name,
        "messages": messages,
        "methods": methods,
        "server_streaming": streaming,
    }
