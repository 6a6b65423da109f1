"""gRPC and etcd's v3 API (aetcd's generated stubs), imported in one place, configured once.

gRPC's C core prints its own errors (TLS alerts, refused connections) to stderr, past
hactl's logs and its one-line CLI errors, although every failure reaches the caller as
an exception anyway. It reads its verbosity once, when it loads: so every etcd module
imports gRPC from here. GRPC_VERBOSITY=ERROR in the environment brings the messages back.

aetcd's `Client` is not used: it has no TLS, one endpoint, and an auth token that is
never renewed. Its stubs are current with protobuf 5+, which is why aetcd was chosen.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # type: ignore[import-untyped]  # (no types-grpcio in the dev deps)
from aetcd import rpc

__all__ = ["grpc", "rpc"]
