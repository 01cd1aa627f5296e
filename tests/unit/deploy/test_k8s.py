"""deploy/k8s: every overlay renders offline with `kubectl kustomize`, and what it renders is one consistent
deployment: a Deployment per role with probes on the right port and resources, settings that exist and parse,
keys from the Secret, Strimzi topics exactly as ``topic_plan`` lays them out, KEDA capped at the partitions."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.roles import Role, consumer_group, topic_plan
from services.settings import Settings
from services.topics import Topics

ROOT = Path(__file__).resolve().parents[3]
OVERLAYS = sorted(path.parent for path in (ROOT / "deploy" / "k8s" / "overlays").glob("*/kustomization.yaml"))
ROLES = ("collect", "store", "monitor", "api")
SETTINGS_VARIABLES = {f"LINEAGE_{name.upper()}" for name in Settings.model_fields}
KEY_FILES = {
    "LINEAGE_PSEUDONYM_KEY_FILE": "pseudonym.key",
    "LINEAGE_PARTITION_KEY_FILE": "partition.key",
    "LINEAGE_QUARANTINE_KEY_FILE": "quarantine.key",
}


@cache
def _render(overlay: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is missing: .ci/system-deps says where to get it"
    result = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _config(docs: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = _of(docs, "ConfigMap").values()
    data: dict[str, str] = config["data"]
    return data


def _settings(docs: list[dict[str, Any]]) -> Settings:
    """The Settings every role of the overlay runs with (the shared ConfigMap), validated as the process would."""
    values = {key.removeprefix("LINEAGE_").lower(): value for key, value in _config(docs).items()}
    return Settings.model_validate(values)


def test_there_are_a_dev_and_a_production_overlay() -> None:
    assert {overlay.name for overlay in OVERLAYS} == {"dev", "production"}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_overlay_renders_every_kind(overlay: Path) -> None:
    docs = _render(overlay)
    kinds = Counter(doc["kind"] for doc in docs)
    assert kinds["Deployment"] == 4
    assert kinds["Job"] == 1
    assert kinds["Service"] == 1
    assert kinds["ScaledObject"] == 3
    assert kinds["KafkaTopic"] == len(Topics().all)
    assert kinds["ClickHouseInstallation"] == 1
    assert kinds["ClickHouseKeeperInstallation"] == 1
    assert kinds["ConfigMap"] == 1
    assert set(_of(docs, "Deployment")) == {f"purpose-lineage-{role}" for role in ROLES}
    namespaces = {doc["metadata"].get("namespace") for doc in docs}
    assert len(namespaces) == 1
    assert None not in namespaces


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_each_role_runs_its_command_from_one_image_with_probes_and_resources(overlay: Path) -> None:
    docs = _render(overlay)
    settings = _settings(docs)
    images = set()
    for role in ROLES:
        pod = _of(docs, "Deployment")[f"purpose-lineage-{role}"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["run", role]
        images.add(container["image"])
        port = settings.api_port if role == "api" else settings.health_port
        assert port is not None
        assert [p["containerPort"] for p in container["ports"]] == [port]
        assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": port}
        assert container["startupProbe"]["httpGet"] == {"path": "/livez", "port": port}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    (job,) = _of(docs, "Job").values()
    (init,) = job["spec"]["template"]["spec"]["containers"]
    assert init["args"] == ["init"]
    images.add(init["image"])
    assert len(images) == 1
    (image,) = images
    assert not image.endswith(":latest")
    if overlay.name == "production":
        assert "/" in image.split(":")[0]  # a registry's image, not the locally built one
        assert image.split(":")[1] not in {"local", "dev"}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_every_variable_is_a_setting_and_the_keys_are_files_of_the_secret(overlay: Path) -> None:
    docs = _render(overlay)
    config_name = next(iter(_of(docs, "ConfigMap")))
    assert set(_config(docs)) <= SETTINGS_VARIABLES
    _settings(docs)  # every value parses as its setting
    pods = [d["spec"]["template"]["spec"] for d in [*_of(docs, "Deployment").values(), *_of(docs, "Job").values()]]
    for pod in pods:
        (container,) = pod["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": config_name}}]
        for variable in container.get("env", []):
            assert variable["name"] in SETTINGS_VARIABLES, variable["name"]
            assert "value" not in variable or "TOKEN" not in variable["name"]  # secrets only by reference
    config = _config(docs)
    for name in ROLES:
        pod = _of(docs, "Deployment")[f"purpose-lineage-{name}"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mount = next(m for m in container["volumeMounts"] if m["name"] == "keys")
        secret = next(v for v in pod["volumes"] if v["name"] == "keys")["secret"]
        assert secret["secretName"] == "purpose-lineage-keys"
        files = {item["path"] for item in secret["items"]}
        for variable, file in KEY_FILES.items():
            assert config[variable] == f"{mount['mountPath']}/{file}"
            assert file in files
        env = {v["name"]: v for v in container.get("env", [])}
        if name == "collect":
            assert "LINEAGE_CLICKHOUSE_URL" not in env  # collect touches no store
        else:
            reference = env["LINEAGE_CLICKHOUSE_URL"]["valueFrom"]["secretKeyRef"]
            assert reference == {"name": "purpose-lineage-clickhouse", "key": f"{name}-url"}
    api = _of(docs, "Deployment")["purpose-lineage-api"]["spec"]["template"]["spec"]["containers"][0]
    token = next(v for v in api["env"] if v["name"] == "LINEAGE_API_TOKEN")
    assert token["valueFrom"]["secretKeyRef"]["name"] == "purpose-lineage-api"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_kafka_topics_are_the_topic_plan_of_the_settings(overlay: Path) -> None:
    docs = _render(overlay)
    settings = _settings(docs)
    rendered = {
        topic["spec"]["topicName"]: (topic["spec"]["partitions"], topic["spec"]["replicas"], topic["spec"]["config"])
        for topic in _of(docs, "KafkaTopic").values()
    }
    planned = {
        spec.name: (spec.partitions, spec.replication_factor, dict(spec.configs)) for spec in topic_plan(settings)
    }
    assert rendered == planned
    assert {t["metadata"]["labels"]["strimzi.io/cluster"] for t in _of(docs, "KafkaTopic").values()} == {
        settings.bootstrap.split("-kafka-bootstrap")[0]
    }


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_keda_scales_each_consuming_role_on_its_group_lag_capped_at_the_partitions(overlay: Path) -> None:
    docs = _render(overlay)
    settings = _settings(docs)
    scaled = _of(docs, "ScaledObject")
    assert set(scaled) == {f"purpose-lineage-{role}" for role in Role}
    deployments = _of(docs, "Deployment")
    for role in Role:
        spec = scaled[f"purpose-lineage-{role.value}"]["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert spec["scaleTargetRef"]["name"] == f"purpose-lineage-{role.value}"
        assert spec["maxReplicaCount"] == settings.topic_partitions
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == consumer_group(settings, role)
        assert trigger["metadata"]["bootstrapServers"] == settings.kafka_bootstrap
        if role is Role.MONITOR:
            assert trigger["metadata"]["topic"] == Topics(settings.topic_prefix).activity


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_the_api_service_and_the_clickhouse_cluster_match_the_settings(overlay: Path) -> None:
    docs = _render(overlay)
    settings = _settings(docs)
    (service,) = _of(docs, "Service").values()
    api = _of(docs, "Deployment")["purpose-lineage-api"]
    assert service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"] == [{"name": "http", "port": settings.api_port, "targetPort": "http"}]
    (installation,) = _of(docs, "ClickHouseInstallation").values()
    clusters = installation["spec"]["configuration"]["clusters"]
    assert [cluster["name"] for cluster in clusters] == [settings.clickhouse_cluster]
    assert installation["spec"]["configuration"]["zookeeper"]["nodes"]
