"""`hactl explain` names the operator intent behind a score, not a `file:0`.

Intents have no file: explain shows the intent itself — what, who, when, until — in
text and JSON, from the live store and from a saved scheduler input alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.agent.records import Incarnation
from reconciler.intent_terms import intent_of, intent_source
from reconciler.intents import Intent
from reconciler.loader import load_paths
from reconciler.scheduler import schedule
from reconciler.scheduler.explain import explain_lines
from tests.cli.conftest import Hactl
from tests.manifests import cluster_doc, documents, dummy, nodes, prefers

MANIFESTS = documents(
    cluster_doc("c", stonith=False, timing={}),
    nodes("n1", "n2"),
    dummy("web", monitor=False),
    prefers("web"),
)

LINE_ZERO = re.compile(r":0(?![\d:])")
"""`file:0`, as explain printed an intent's source (not a time's `:05`)."""


@pytest.fixture
def applied(hactl: Hactl, monkeypatch: pytest.MonkeyPatch) -> Hactl:
    monkeypatch.setenv("HACTL_APPLIED_BY", "alice@ci")
    result = hactl("apply", "-f", str(hactl.write("m.yaml", MANIFESTS)))
    assert result.exit_code == 0, result.stderr
    return hactl


def terms(explained: dict[str, object], node: str) -> list[dict[str, object]]:
    scores = explained["scores"]
    assert isinstance(scores, dict)
    found: list[dict[str, object]] = scores[node]["terms"]
    return found


class TestExplainFromTheStore:
    def test_move_and_ban_show_the_intent(self, applied: Hactl) -> None:
        assert applied("resource", "move", "web", "--to", "n2", "--for", "1h").exit_code == 0
        assert applied("resource", "ban", "web", "--from", "n1").exit_code == 0
        text = applied("explain", "web").stdout
        assert not LINE_ZERO.search(text)
        assert "[Location/web-prefers-n1 at m.yaml:" in text  # a manifest keeps file:line
        (move,) = [line for line in text.splitlines() if "INFINITY  location n2" in line]
        assert "[intent move web to n2 (by alice@ci at 20" in move
        assert move.rstrip().endswith("Z)]") and ", until " in move
        (ban,) = [line for line in text.splitlines() if "-INFINITY  location n1" in line]
        assert "[intent ban web from n1 (by alice@ci at 20" in ban and "until" not in ban

    def test_json_carries_the_intent_not_a_file(self, applied: Hactl) -> None:
        applied("resource", "move", "web", "--to", "n2", "--for", "30m")
        explained = json.loads(applied("explain", "web", "-o", "json").stdout)
        (term,) = [t for t in terms(explained, "n2") if t["score"] == "INFINITY"]
        source = term["source"]
        assert isinstance(source, dict)
        assert set(source) == {"kind", "name", "intent"}  # no file, no line 0
        listed = json.loads(applied("get", "intents", "-o", "json").stdout)["items"][0]
        assert source["intent"] == listed  # the very record `get intents` shows
        assert explained["intents"] == [listed]

    def test_restart_is_named_where_no_term_shows_it(self, applied: Hactl) -> None:
        applied("resource", "restart", "web")
        text = applied("explain", "web").stdout
        assert "targetRole is Stopped" in text
        assert "Operator intents" in text and "restart web (by alice@ci at 20" in text

    def test_get_status_diff_print_no_file_for_intents(self, applied: Hactl) -> None:
        applied("resource", "move", "web", "--to", "n2")
        shown = [
            applied("get", "locations").stdout,
            applied("status").stdout,
            applied("status", "-o", "json").stdout,
        ]
        diff = applied("diff", "-f", str(applied.workdir / "m.yaml"))
        shown += [diff.stdout, diff.stderr]
        assert not any(LINE_ZERO.search(text) or "intent:" in text for text in shown)
        assert "move web to n2 (by alice@ci" in diff.stderr


class TestExplainAReplay:
    def test_a_saved_input_replays_with_its_intents(self, applied: Hactl) -> None:
        applied("resource", "move", "web", "--to", "n2", "--for", "1h")
        live = applied("explain", "web").stdout
        saved = applied.write("input.json", _saved_input(applied))
        assert applied("explain", "web", str(saved)).stdout == live


class TestNodeIntents:
    """A node's standby set by `hactl node standby` names the intent, not the Node file."""

    def test_standby_by_intent(self, tmp_path: Path) -> None:
        path = tmp_path / "m.yaml"
        path.write_text(MANIFESTS)
        records = RuntimeRecords()
        for node in ("n1", "n2"):
            records.members[node] = MemberInfo(node, f"i-{node}", 1, "h")
            records.incarnations[node] = Incarnation(f"i-{node}", 0.0)
        records.intents["standby/n1"] = Intent(kind="standby", by="bob", at=0.0, node="n1")
        snapshot = build_snapshot(load_paths([str(path)]), records, lost_at={}, now=10.0)
        text = "\n".join(explain_lines("web", schedule(snapshot, 10.0), declared=snapshot.declared))
        assert "n1 is in standby  [intent node n1 standby (by bob at 1970-01-01T00:00:00Z)]" in (
            text
        )


class TestSourceRoundTrip:
    @pytest.mark.parametrize(
        "intent",
        [
            Intent(kind="move", by="a b&c=d@ci", at=1.0, resource="web", node="n2", until=61.0),
            Intent(kind="ban", by="x", at=86_399.0, resource="web", node="n1", until=86_401.0),
            Intent(kind="standby", by="x", at=5.0, node="n1", value=False),
            Intent(kind="cluster-maintenance", by="x", at=5.0),
            Intent(kind="restart", by="ops?#%", at=5.0, resource="g"),
        ],
    )
    def test_intent_of_reads_back_what_intent_source_wrote(self, intent: Intent) -> None:
        source = intent_source(intent)
        assert source.line == 0
        assert intent_of(source) == intent

    def test_a_file_is_no_intent(self) -> None:
        from reconciler.model.declared import Source

        assert intent_of(Source("intent:move?by=x&at=1970-01-01T00:00:00+00:00", 3)) is None
        assert intent_of(Source("intent:nonsense?by=x&at=1970-01-01T00:00:00+00:00", 0)) is None


def _saved_input(hactl: Hactl) -> str:
    """What the leader saves under inputs/: the snapshot it scheduled, as JSON."""
    import asyncio
    import time

    from reconciler import keys
    from reconciler.declared_store import read_declared
    from reconciler.store.url import open_store

    async def read() -> str:
        store = open_store(hactl.store_url)
        try:
            declared = await read_declared(store, "default")
            values: dict[str, bytes] = {}
            for part in keys.RUNTIME_PREFIXES:
                found, _ = await store.range(keys.cluster_prefix("default") + part)
                values.update((kv.key, kv.value) for kv in found)
        finally:
            await store.close()
        records = RuntimeRecords.decode("default", values)
        return build_snapshot(declared, records, lost_at={}, now=time.time()).to_json()

    return asyncio.run(read())
