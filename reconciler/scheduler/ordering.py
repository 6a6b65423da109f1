"""Order constraints and group order: restarts they imply, and the edges of the plan.

- `first` then `then` (Mandatory): when `first` (re)starts, a `then` that keeps running
  must restart around it — stop before, start after — as Pacemaker restarts "due to
  required X start". Group members are chained the same way, each after the previous.
- Every order adds edges: `then`'s action after `first`'s; if symmetrical, the
  inverse actions in reverse (stop `then` before stopping `first`). Optional orders add
  the same edges, but only between actions that happen anyway, and never restart
  anything; when they close a loop they are the edges dropped.

A clone counts as (re)started only when none of its instances keeps running: a clone
stays available while any instance runs (Pacemaker without `interleave` restarts every
dependent for a single new instance; hactl does not — docs/scheduler.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from reconciler.model.kinds import OrderAction
from reconciler.scheduler.actions import ActionBuilder
from reconciler.scheduler.transition import ActionOp

INVERSE: dict[OrderAction, OrderAction] = {
    "start": "stop",
    "stop": "start",
    "promote": "demote",
    "demote": "promote",
}


def propagate_restarts(builder: ActionBuilder) -> None:
    """Restart every kept `then` whose Mandatory `first` starts (or promotes) in the plan."""
    inputs = builder.placer.inputs
    queue = deque(
        name
        for name in sorted(builder.resources)
        if name in inputs.resources and (_started(builder, name) or _promoted(builder, name))
    )
    while queue:
        first = queue.popleft()
        for then, action, reason in _dependents(builder, first):
            if _restart(builder, then, action=action, reason=reason):
                queue.append(then)


def _started(builder: ActionBuilder, name: str) -> bool:
    actions = builder.resources.get(name)
    if actions is None or not actions.by_op.get("start"):
        return False
    return not (builder.placer.inputs.is_clone(name) and actions.kept)


def _promoted(builder: ActionBuilder, name: str) -> bool:
    actions = builder.resources.get(name)
    return actions is not None and bool(actions.by_op.get("promote"))


def _dependents(builder: ActionBuilder, name: str) -> Iterator[tuple[str, OrderAction, str]]:
    """(resource, action to redo, why) for everything that must follow `name`'s start."""
    inputs = builder.placer.inputs
    declared = inputs.snapshot.declared
    group = declared.group_of(name)
    started = _started(builder, name)
    if group is not None and started:
        members = group.spec.resources
        position = members.index(name)
        if position + 1 < len(members):
            yield members[position + 1], "start", f"required {name} start"
    firsts = [name] + ([group.metadata.name] if group is not None else [])
    for first in firsts:
        for order in inputs.orders_of_first.get(first, ()):
            spec = order.spec
            if spec.kind != "Mandatory" or spec.then_action not in ("start", "promote"):
                continue
            if not (
                (spec.first_action == "start" and started)
                or (spec.first_action == "promote" and _promoted(builder, name))
            ):
                continue
            target = inputs.members_of(spec.then)[0]
            yield target, spec.then_action, f"required {name} {spec.first_action}"


def _restart(builder: ActionBuilder, name: str, *, action: OrderAction, reason: str) -> bool:
    """Stop and start (or demote and promote) a resource where it is kept; False if none."""
    actions = builder.resources.get(name)
    if actions is None or not actions.kept or name in builder.placer.pinned:
        return False
    if action == "promote":
        promoted = builder.placer.clone_promoted.get(name, [])
        nodes = [n for n in actions.kept if n in promoted and not actions.by_op.get("promote")]
        for node in nodes:
            demote = builder.add("demote", name, node=node, reason=f"restart: {reason}")
            promote = builder.add("promote", name, node=node, reason=f"restart: {reason}")
            builder.graph.edge(demote, promote)
        return bool(nodes)
    promoted = list(builder.placer.clone_promoted.get(name, []))
    for node in actions.kept:
        stop = builder.add("stop", name, node=node, reason=f"restart: {reason}")
        start = builder.add("start", name, node=node, reason=f"restart: {reason}")
        builder.graph.edge(stop, start)
        if node in promoted:
            promoted.remove(node)
            demote = builder.add("demote", name, node=node, reason=f"restart: {reason}")
            promote = builder.add("promote", name, node=node, reason=f"restart: {reason}")
            builder.graph.edge(demote, stop)
            builder.graph.edge(start, promote)
    actions.kept.clear()
    return True


def add_order_edges(builder: ActionBuilder) -> None:
    """Edges of every order constraint and of every group's member chain."""
    inputs = builder.placer.inputs
    declared = inputs.snapshot.declared
    for name in sorted(declared.orders):
        spec = declared.orders[name].spec
        optional = spec.kind == "Optional"
        firsts, thens = inputs.members_of(spec.first), inputs.members_of(spec.then)
        _connect(
            builder,
            firsts,
            first_op=spec.first_action,
            thens=thens,
            then_op=spec.then_action,
            optional=optional,
        )
        if spec.symmetrical:
            _connect(
                builder,
                thens,
                first_op=INVERSE[spec.then_action],
                thens=firsts,
                then_op=INVERSE[spec.first_action],
                optional=optional,
            )
    for name in sorted(declared.groups):
        _chain(builder, declared.groups[name].spec.resources)


def _chain(builder: ActionBuilder, members: list[str]) -> None:
    """Each member starts after the members before it, and stops before them.

    Edges go to the nearest member that has such an action, so a member that keeps
    running between two that restart does not cut the chain.
    """
    previous: str | None = None
    for member in members:
        if _ids(builder, member, op="start"):
            if previous is not None:
                _connect(
                    builder,
                    (previous,),
                    first_op="start",
                    thens=(member,),
                    then_op="start",
                    optional=False,
                )
            previous = member
    following: str | None = None
    for member in reversed(members):
        if _ids(builder, member, op="stop"):
            if following is not None:
                _connect(
                    builder,
                    (following,),
                    first_op="stop",
                    thens=(member,),
                    then_op="stop",
                    optional=False,
                )
            following = member


def _connect(
    builder: ActionBuilder,
    firsts: tuple[str, ...],
    *,
    first_op: ActionOp,
    thens: tuple[str, ...],
    then_op: ActionOp,
    optional: bool,
) -> None:
    befores = [i for n in firsts for i in _ids(builder, n, op=first_op)]
    if not befores:
        return
    for name in thens:
        for after in _ids(builder, name, op=then_op):
            for before in befores:
                builder.graph.edge(before, after, optional=optional)


def _ids(builder: ActionBuilder, name: str, *, op: ActionOp) -> list[int]:
    actions = builder.resources.get(name)
    return actions.by_op.get(op, []) if actions is not None else []
