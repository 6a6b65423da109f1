"""The declared generation as one node's agent knows it, read again only when the
generation number changed; and what the node derives from it per resource."""

from __future__ import annotations

from reconciler import declared_store
from reconciler.agent import actions
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Resource
from reconciler.ocf.environment import CloneInfo
from reconciler.store.base import Store


class NodeDeclared:
    def __init__(self, store: Store, *, cluster: str, node: str) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._generation = -1
        self.state = DeclaredState.of([])

    async def refresh(self) -> DeclaredState:
        generation = await declared_store.read_generation(self._store, self._cluster)
        number = generation.number if generation else 0
        if number != self._generation:
            self.state = (
                await declared_store.read_snapshot(self._store, self._cluster, generation)
                if generation
                else DeclaredState.of([])
            )
            self._generation = number
        return self.state

    def resource(self, name: str) -> Resource | None:
        return self.state.resources.get(name)

    def promotable(self, resource: Resource) -> bool:
        return bool(resource.spec.clone and resource.spec.clone.promotable)

    def clone(self, resource: Resource) -> CloneInfo | None:
        """This node's clone instance: its index among the declared nodes."""
        nodes = sorted(self.state.nodes)
        index = nodes.index(self._node) if self._node in nodes else 0
        return actions.clone_info(resource, index, len(nodes))
