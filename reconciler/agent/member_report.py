"""Events for membership: nodes that joined, left, were lost or fenced since the last round."""

from __future__ import annotations

from reconciler.agent.election import Election
from reconciler.agent.observe import RuntimeRecords
from reconciler.events import EventLog, MemberState, membership_changes
from reconciler.model.declared import DeclaredState


def member_states(declared: DeclaredState, records: RuntimeRecords) -> dict[str, MemberState]:
    """Each declared node's membership state (pure)."""
    states: dict[str, MemberState] = {}
    for node in declared.nodes:
        if records.online(node):
            states[node] = "online"
        elif records.fenced_now(node):
            states[node] = "fenced"
        elif records.known_down(node):
            states[node] = "left" if node in records.incarnations else "absent"
        else:
            states[node] = "lost"
    return states


class MembershipReport:
    """Remembers the last round's states; the first report announces the new leader."""

    def __init__(self, events: EventLog, *, node: str, election: Election) -> None:
        self._events = events
        self._node = node
        self._election = election
        self._before: dict[str, MemberState] | None = None

    async def report(self, declared: DeclaredState, records: RuntimeRecords) -> None:
        now = member_states(declared, records)
        before, self._before = self._before, now
        if before is None:
            online = ", ".join(n for n, s in sorted(now.items()) if s == "online")
            await self._events.emit(
                "leader.elected",
                f"{self._node} leads (token {self._election.token}); online: {online}",
                node=self._node,
            )
            return
        for kind, node, message in membership_changes(before, now):
            await self._events.emit(kind, message, node=node, ok=kind != "member.lost")
