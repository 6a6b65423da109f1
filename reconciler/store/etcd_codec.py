"""Translation between the store contract's types and etcd's v3 messages.

Pure functions, no I/O. Two places where etcd and the contract differ are bridged here:

- Keys are `str` in the contract and UTF-8 bytes in etcd; byte order of UTF-8 is code
  point order, so etcd's sorted ranges are the contract's sorted ranges.
- etcd fails every `value` compare on a key that does not exist ("no way to represent
  a missing value"), while the contract gives an absent key the value b''. A compare
  that b'' satisfies (`== b''`, `!= b'x'`, `< b'x'`) is therefore rewritten into an
  atomic case split with etcd's nested transactions: "the key is absent" decides
  between the transaction without that compare and the transaction with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.store.base import Compare, Delete, EventType, KeyValue, Put, WatchEvent
from reconciler.store.etcd_grpc import rpc

__all__ = [
    "event",
    "key_range",
    "key_value",
    "txn_request",
    "txn_succeeded",
]

_RESULTS = {
    "==": rpc.Compare.EQUAL,
    "!=": rpc.Compare.NOT_EQUAL,
    "<": rpc.Compare.LESS,
    ">": rpc.Compare.GREATER,
}
_TARGETS = {
    "version": (rpc.Compare.VERSION, "version"),
    "create": (rpc.Compare.CREATE, "create_revision"),
    "mod": (rpc.Compare.MOD, "mod_revision"),
    "value": (rpc.Compare.VALUE, "value"),
    "lease": (rpc.Compare.LEASE, "lease"),
}
_ALL_KEYS = (b"\0", b"\0")
"""etcd's spelling of "every key": from the smallest key, with no end."""


def key_range(prefix: str) -> tuple[bytes, bytes]:
    """The [key, range_end) of every key under `prefix` (etcd's prefix range)."""
    start = prefix.encode()
    if not start:
        return _ALL_KEYS
    return start, start[:-1] + bytes([start[-1] + 1])  # UTF-8 has no 0xff byte to carry


def key_value(kv: Any) -> KeyValue:
    return KeyValue(
        key=_key(kv.key),
        value=bytes(kv.value),
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


def event(message: Any) -> WatchEvent:
    kind = EventType.DELETE if message.type == rpc.Event.DELETE else EventType.PUT
    value = b"" if kind is EventType.DELETE else bytes(message.kv.value)
    return WatchEvent(kind, _key(message.kv.key), value, message.kv.mod_revision)


def txn_request(
    compares: Sequence[Compare], success: Sequence[Put | Delete], failure: Sequence[Put | Delete]
) -> Any:
    """The etcd TxnRequest for a contract transaction (see the module docstring).

    Raises TypeError, as the other backends do, for a compare whose operand has the
    wrong type for its target."""
    for compare in compares:
        compare.holds_for(None)  # type check only
    return _txn([(compare, False) for compare in compares], success, failure)


def txn_succeeded(compares: Sequence[Compare], response: Any) -> bool:
    """Whether the contract transaction took its success branch, given etcd's response
    to `txn_request(compares, …)`."""
    return _succeeded([(compare, False) for compare in compares], response)


_Marked = list[tuple[Compare, bool]]
"""Compares, each marked True once the key is known to exist (so etcd's own value
compare is exact for it)."""


def _txn(marked: _Marked, success: Sequence[Put | Delete], failure: Sequence[Put | Delete]) -> Any:
    split = _absent_case(marked)
    if split is None:
        return rpc.TxnRequest(
            compare=[_compare(compare) for compare, _ in marked],
            success=[_op(op) for op in success],
            failure=[_op(op) for op in failure],
        )
    index, compare = split
    when_absent = marked[:index] + marked[index + 1 :]
    when_present = [*marked[:index], (compare, True), *marked[index + 1 :]]
    return rpc.TxnRequest(
        compare=[_compare(Compare.absent(compare.key))],
        success=[rpc.RequestOp(request_txn=_txn(when_absent, success, failure))],
        failure=[rpc.RequestOp(request_txn=_txn(when_present, success, failure))],
    )


def _succeeded(marked: _Marked, response: Any) -> bool:
    split = _absent_case(marked)
    if split is None:
        return bool(response.succeeded)
    index, compare = split
    inner = response.responses[0].response_txn
    if response.succeeded:
        return _succeeded(marked[:index] + marked[index + 1 :], inner)
    return _succeeded([*marked[:index], (compare, True), *marked[index + 1 :]], inner)


def _absent_case(marked: _Marked) -> tuple[int, Compare] | None:
    """The first value compare that an absent key would satisfy, not yet split on."""
    for index, (compare, present) in enumerate(marked):
        if not present and compare.target == "value" and compare.holds_for(None):
            return index, compare
    return None


def _compare(compare: Compare) -> Any:
    target, field = _TARGETS[compare.target]
    message = rpc.Compare(result=_RESULTS[compare.op], target=target, key=compare.key.encode())
    setattr(message, field, compare.operand)
    return message


def _op(op: Put | Delete) -> Any:
    if isinstance(op, Put):
        put = rpc.PutRequest(key=op.key.encode(), value=op.value, lease=op.lease)
        return rpc.RequestOp(request_put=put)
    key, end = key_range(op.key) if op.prefix else (op.key.encode(), b"")
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, range_end=end))


def _key(raw: bytes) -> str:
    # Keys hactl wrote are UTF-8; a foreign key that is not still lists instead of failing.
    return bytes(raw).decode("utf-8", "surrogateescape")
