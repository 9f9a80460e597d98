"""The legacy Soniox gRPC API (`soniox` 1.x SDK), served by `hark serve --grpc-port`.

`speech_service.proto` is Hark's copy of the 1.10.1 schema (same package, messages and field
numbers). The Python stubs beside it are generated from it and committed; after editing the
.proto, run `make grpc-stubs`. They are generated with grpcio-tools 1.62 on purpose: that
generation carries no runtime version checks, so it loads on any protobuf from 4.25 on and
any grpcio.

Importing this package is left to the processes that serve gRPC (see `server.start_server`).
"""
