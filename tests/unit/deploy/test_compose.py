"""deploy/compose and deploy/Dockerfile: `docker-compose config` accepts the stack (offline, no Docker engine), and
what it resolves to is the deployment the README describes: every role its own service from one image, health
checks and restart policies, settings that exist, keys from mounted files, nothing secret in the files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
ROLES = ("collect", "store", "monitor", "api")
SETTINGS_VARIABLES = {f"LINEAGE_{name.upper()}" for name in Settings.model_fields}
REQUIRED = re.compile(r"\$\{(\w+):\?")


def _interpolated() -> set[str]:
    """The variables the compose file demands (``${NAME:?...}``): what generate-secrets.sh must write."""
    return set(REQUIRED.findall(COMPOSE_FILE.read_text()))


@cache
def _config() -> dict[str, Any]:
    executable = shutil.which("docker-compose")
    assert executable is not None, "docker-compose is missing: `make test` installs it (.ci/system-deps)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "COMPOSE_", "DOCKER_"))}
    env.update({name: f"test-{name.lower()}" for name in _interpolated()})
    result = subprocess.run(
        [executable, "--project-directory", str(COMPOSE), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_config_resolves_every_service() -> None:
    services = _config()["services"]
    assert set(services) == {
        "kafka", "clickhouse-keeper", "clickhouse", "init", *ROLES, "prometheus", "alertmanager", "grafana",
    }  # fmt: skip
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert services["clickhouse-keeper"]["image"].startswith("clickhouse/clickhouse-keeper:")


def test_each_role_and_init_run_from_the_one_image_with_their_own_command() -> None:
    services = _config()["services"]
    images = set()
    for name in (*ROLES, "init"):
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert Path(service["build"]["context"]).resolve() == ROOT, name
        images.add(service["image"])
        expected = ["init"] if name == "init" else ["run", name]
        assert service["command"] == expected
    assert len(images) == 1
    for name in ROLES:
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["init"]["restart"] == "on-failure"


def test_every_long_running_service_has_a_health_check_and_a_restart_policy() -> None:
    for name, service in _config()["services"].items():
        if name == "init":
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
    services = _config()["services"]
    for role in ("collect", "store", "monitor"):  # no API in these processes: the health listener answers
        assert services[role]["environment"]["LINEAGE_HEALTH_PORT"] == "8766"
        assert "127.0.0.1:8766/healthz" in " ".join(services[role]["healthcheck"]["test"])
    assert "127.0.0.1:8765/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_every_lineage_variable_is_a_setting_and_keys_come_from_mounted_secrets() -> None:
    services = _config()["services"]
    for name, service in services.items():
        for variable in service.get("environment", {}):
            if variable.startswith("LINEAGE_"):
                assert variable in SETTINGS_VARIABLES, f"{name}: {variable} is no Settings field"
    for role in ROLES:
        env = services[role]["environment"]
        mounted = {secret["source"] for secret in services[role]["secrets"]}
        for variable in ("LINEAGE_PSEUDONYM_KEY_FILE", "LINEAGE_PARTITION_KEY_FILE", "LINEAGE_QUARANTINE_KEY_FILE"):
            path = env[variable]
            assert path.startswith("/run/secrets/"), (role, variable)
            assert path.removeprefix("/run/secrets/") in mounted, (role, variable)
        assert "LINEAGE_PSEUDONYM_KEY" not in env  # the key itself never travels in the environment
        assert env["LINEAGE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    # Each role writes or reads ClickHouse as its own least-privilege user (deploy/clickhouse/create-users.sh).
    users = {
        role: re.match(r"http://(\w+):", services[role]["environment"]["LINEAGE_CLICKHOUSE_URL"]) for role in ROLES[1:]
    }
    assert {role: m[1] if m else None for role, m in users.items()} == {
        "store": "lineage_store", "monitor": "lineage_monitor", "api": "lineage_api",
    }  # fmt: skip
    assert "LINEAGE_CLICKHOUSE_URL" not in services["collect"]["environment"]
    assert services["init"]["environment"]["LINEAGE_CLICKHOUSE_URL"].startswith("http://lineage_migrator:")
    assert services["api"]["environment"]["LINEAGE_API_TOKEN"] == "test-api_token"


def test_the_cluster_of_the_settings_is_the_cluster_clickhouse_defines() -> None:
    services = _config()["services"]
    cluster = services["init"]["environment"]["LINEAGE_CLICKHOUSE_CLUSTER"]
    config = ET.parse(COMPOSE / "clickhouse" / "lineage-cluster.xml").getroot()
    assert config.find(f"remote_servers/{cluster}/shard/replica/host") is not None
    macros = config.find("macros")
    assert macros is not None
    assert {m.tag for m in macros} == {"shard", "replica"}
    assert config.find("zookeeper/node/host").text == "clickhouse-keeper"  # type: ignore[union-attr]
    keeper = ET.parse(COMPOSE / "clickhouse" / "keeper.xml").getroot()
    assert keeper.find("keeper_server/tcp_port").text == "9181"  # type: ignore[union-attr]
    mounted = " ".join(services["clickhouse"]["volumes"])
    for asset in ("lineage-cluster.xml", "roles.sql", "create-users.sh"):
        assert asset in mounted


def test_monitoring_uses_the_shipped_prometheus_rules_alertmanager_config_and_grafana_provisioning() -> None:
    services = _config()["services"]

    def mounts(name: str) -> dict[str, str]:
        pairs = (v.split(":")[:2] for v in services[name]["volumes"])
        return {target: str(Path(source).resolve()) for source, target in pairs if source.startswith("/")}

    assert mounts("prometheus")["/etc/prometheus/rules"] == str(ROOT / "deploy" / "prometheus" / "rules")
    assert mounts("alertmanager")["/etc/alertmanager/alertmanager.yml"] == str(
        ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
    )
    assert mounts("grafana")["/etc/grafana/provisioning"] == str(ROOT / "deploy" / "grafana" / "provisioning")
    assert mounts("grafana")["/var/lib/grafana/dashboards/purpose-lineage"] == str(
        ROOT / "deploy" / "grafana" / "dashboards"
    )
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_the_compose_prometheus_config_loads_the_shipped_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: `make test` installs it (.ci/system-deps)"
    shutil.copy(COMPOSE / "prometheus" / "prometheus.yml", tmp_path / "prometheus.yml")
    (tmp_path / "rules").symlink_to(ROOT / "deploy" / "prometheus" / "rules")  # as the container mounts them
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    scrape = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["job_name"] == "purpose-lineage"  # PipelineDown selects it
    assert set(scrape["dns_sd_configs"][0]["names"]) == {"collect", "store", "monitor"}


def test_generate_secrets_writes_every_variable_the_compose_file_demands(tmp_path: Path) -> None:
    script = tmp_path / "generate-secrets.sh"
    shutil.copy(COMPOSE / "generate-secrets.sh", script)
    first = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    written = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines())
    assert set(written) == _interpolated()
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in written.values())
    keys = {
        name: (tmp_path / "secrets" / f"{name}.key").read_text() for name in ("pseudonym", "partition", "quarantine")
    }
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys.values())  # the quarantine key: 64 hex digits
    assert len(set(keys.values())) == 3
    subprocess.run(["sh", str(script)], capture_output=True, check=True)  # a rerun never rotates a key
    assert {name: (tmp_path / "secrets" / f"{name}.key").read_text() for name in keys} == keys


def test_the_image_runs_as_a_non_root_user_with_no_secret_baked_in() -> None:
    text = DOCKERFILE.read_text()
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user
    assert user[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r'^ENTRYPOINT \["purpose-lineage"\]$', text, re.MULTILINE)
    environment = " ".join(re.findall(r"^ENV (.*(?:\\\n.*)*)", text, re.MULTILINE))
    assert not re.search(r"KEY|PASSWORD|TOKEN|SECRET", environment)
    assert "COPY . " not in text  # explicit sources only: no .env, secrets/ or var/ can slip into the image
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1 :][:4] == ["!pyproject.toml", "!README.md", "!schemas/", "!services/"]
