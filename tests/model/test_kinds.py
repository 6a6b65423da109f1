"""The manifest kinds refuse what is wrong and keep a canonical form."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.model.declared import from_manifest, to_manifest
from reconciler.model.kinds import Cluster, Colocation, Resource


def resource(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": "web-ip"},
        "spec": {"agent": "ocf:heartbeat:IPaddr2", **spec},
    }


class TestStrictness:
    """Unknown fields, wrong types and hostile values are refused."""

    def test_unknown_field(self) -> None:
        with pytest.raises(ValidationError, match="Extra inputs"):
            Resource.model_validate(resource(bogus=1))

    def test_no_coercion_of_strings_to_numbers(self) -> None:
        with pytest.raises(ValidationError):
            Resource.model_validate(resource(meta={"migrationThreshold": "3"}))

    def test_duration_needs_a_unit_string(self) -> None:
        with pytest.raises(ValidationError):
            Resource.model_validate(resource(ops=[{"name": "monitor", "interval": 10}]))

    @pytest.mark.parametrize("name", ["; rm -rf /", "../etc", "a b", "x" * 64, "-a", "a\x00b"])
    def test_hostile_names(self, name: str) -> None:
        doc = resource()
        doc["metadata"]["name"] = name
        with pytest.raises(ValidationError):
            Resource.model_validate(doc)

    def test_hostile_param_name(self) -> None:
        with pytest.raises(ValidationError):
            Resource.model_validate(resource(params={"ip; rm -rf /": "x"}))

    def test_nul_in_param_value(self) -> None:
        with pytest.raises(ValidationError, match="NUL"):
            Resource.model_validate(resource(params={"ip": "1.2.3.4\x00"}))

    def test_frozen(self) -> None:
        model = Resource.model_validate(resource())
        with pytest.raises(ValidationError):
            model.spec.agent = "lsb:x"  # type: ignore[misc]


class TestClusterTiming:
    """Membership timers must make sense together (heartbeat's rules)."""

    def cluster(self, **timing: str) -> dict[str, Any]:
        return {
            "apiVersion": "hactl/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "c"},
            "spec": {"timing": timing},
        }

    def test_deadtime_must_exceed_keepalive(self) -> None:
        with pytest.raises(ValidationError, match="deadtime"):
            Cluster.model_validate(
                self.cluster(keepalive="1s", warntime="1s", deadtime="1s", initdeadtime="5s")
            )

    def test_spec_example_is_valid(self) -> None:
        model = Cluster.model_validate(
            self.cluster(keepalive="200ms", warntime="500ms", deadtime="1s", initdeadtime="30s")
        )
        assert model.spec.timing.deadtime.milliseconds == 1000


class TestCanonicalForm:
    """A document survives the store round trip, and defaults are not spelled out."""

    def test_round_trip(self) -> None:
        doc = resource(
            params={"ip": "198.18.0.11", "cidr_netmask": "24"},
            ops=[{"name": "monitor", "interval": "10s", "timeout": "20s"}],
            meta={"stickiness": "INFINITY"},
        )
        model = Resource.model_validate(doc)
        again = from_manifest(to_manifest(model))
        assert again == model
        assert to_manifest(again)["spec"]["meta"] == {"stickiness": "INFINITY"}

    def test_spelled_out_default_is_the_same_object(self) -> None:
        plain = Resource.model_validate(resource())
        spelled = Resource.model_validate(resource(meta={"targetRole": "Started"}))
        assert to_manifest(plain) == to_manifest(spelled)

    def test_colocation_with_keyword(self) -> None:
        model = Colocation.model_validate(
            {
                "apiVersion": "hactl/v1alpha1",
                "kind": "Colocation",
                "metadata": {"name": "c"},
                "spec": {"resource": "a", "with": "b", "score": "INFINITY"},
            }
        )
        assert to_manifest(model)["spec"] == {"resource": "a", "with": "b", "score": "INFINITY"}
