"""The deployment files, linted where Docker and systemd are not at hand: they parse,
and they agree with the code (state dir, health port, exit codes, the guard's ping)."""

from __future__ import annotations

import configparser
import inspect
import re
from pathlib import Path

import pytest
import yaml

from bot.cli import EXIT_REFUSED, EXIT_USAGE
from bot.config import MetricsConfig, load_config
from bot.exchange.transport import Transport
from bot.service import GUARD_INTERVAL_S

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
HEALTH_PORT = str(MetricsConfig().port)  # the image asks the port the bot serves by default
DASHBOARD = "./deploy/grafana/usdc-futures-bot.json"
READS_BETWEEN_PINGS = 7  # the guard's reads after its ping and a reconcile's, worst case
ATTEMPTS = inspect.signature(Transport).parameters["attempts"].default  # a read's tries


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string((SYSTEMD / name).read_text())
    return parser


def _dockerfile() -> dict[str, list[str]]:
    """Instruction → its arguments, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    instructions: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            instructions.setdefault(word.upper(), []).append(rest.strip())
    return instructions


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.mark.parametrize(
    "path",
    [ROOT / "docker-compose.yml", *sorted(DEPLOY.rglob("*.yml")), *sorted(DEPLOY.rglob("*.yaml"))],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_every_yaml_file_parses(path):
    assert [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def test_the_image_runs_as_a_non_root_user_with_its_state_on_a_volume_and_a_healthcheck():
    docker = _dockerfile()
    assert re.fullmatch(r"python:3\.\d+-slim", docker["FROM"][0])
    user = docker["USER"][-1].split(":")[0]
    assert user not in ("root", "0")
    env = " ".join(docker["ENV"])
    state_dir = re.search(r"BOT__PATHS__STATE_DIR=(\S+)", env)
    assert state_dir is not None
    assert state_dir.group(1) in docker["VOLUME"][0]
    assert any("-r requirements.txt" in run for run in docker["RUN"])  # the pinned set
    healthcheck = docker["HEALTHCHECK"][0]
    assert "http://127.0.0.1:" in healthcheck and "/healthz" in healthcheck
    assert f"BOT_HEALTH_PORT={HEALTH_PORT}" in env
    assert "BOT__METRICS__ENABLED=true" in env  # the healthcheck needs the endpoint
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and "var/" in ignored  # keys and state never enter the image


def test_compose_runs_the_bot_with_its_keys_and_state_and_monitoring_as_a_profile():
    services = _compose()["services"]
    bot = services["bot"]
    assert "profiles" not in bot  # always on
    assert bot["env_file"] == ".env"
    assert any(volume.endswith(":/state") for volume in bot["volumes"])
    assert bot["stop_signal"] == "SIGTERM"
    assert bot["restart"] in ("unless-stopped", "always")  # back after a reboot too
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    assert any(volume.startswith(f"{DASHBOARD}:") for volume in services["grafana"]["volumes"])
    for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./") and source != DASHBOARD:  # the metrics part ships that one
            assert (ROOT / source).exists(), source
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == [
        f"127.0.0.1:{HEALTH_PORT}"
    ]


def test_the_service_unit_restarts_on_failure_stops_cleanly_and_is_confined():
    unit = _unit("usdc-futures-bot.service")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert 5 <= int(service["RestartSec"]) <= 120
    assert str(EXIT_USAGE) in service["RestartPreventExitStatus"].split()
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 60  # a bracket in progress finishes first
    assert service["EnvironmentFile"].endswith("/.env")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    state_dir = re.search(r"BOT__PATHS__STATE_DIR=(\S+)", service["Environment"])
    assert state_dir is not None
    assert state_dir.group(1) in service["ReadWritePaths"].split()
    assert service["Type"] == "notify"
    # the watchdog is pinged by the position guard, whose thread may wait on a venue that
    # does not answer: a few reads each retried to exhaustion must fit in it, or systemd
    # kills the bot during an outage instead of letting it stop cleanly
    timeout_s = load_config(None, environ={}).exchange.timeout_s
    venue_down_s = READS_BETWEEN_PINGS * ATTEMPTS * (timeout_s + 1)
    assert int(service["WatchdogSec"]) >= max(3 * GUARD_INTERVAL_S, venue_down_s)
    assert int(service["TimeoutStartSec"]) >= venue_down_s  # READY after the first cycle
    assert "--once" not in service["ExecStart"]


def test_the_timer_runs_the_oneshot_cycle_and_a_refusal_is_not_a_failure():
    timer = _unit("usdc-futures-bot-once.timer")
    assert timer["Timer"]["Unit"] == "usdc-futures-bot-once.service"
    assert timer["Timer"]["OnCalendar"]
    service = _unit(timer["Timer"]["Unit"])["Service"]
    assert service["Type"] == "oneshot"
    assert "main.py --once" in service["ExecStart"]
    assert service["SuccessExitStatus"] == str(EXIT_REFUSED)
    assert service["NoNewPrivileges"] == "yes"
    assert service["EnvironmentFile"].endswith("/.env")


def test_the_cron_line_runs_once_without_flock():
    lines = [
        line
        for line in (DEPLOY / "cron" / "usdc-futures-bot").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)  # m h dom mon dow user command (cron.d format)
    assert fields[5] != "root"
    assert "main.py --once" in fields[6]
    assert "flock" not in fields[6]  # the bot takes its own lock (exit 4)


def test_each_account_on_kubernetes_has_its_own_secret_and_state_and_never_overlaps():
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text()))
    jobs = [doc for doc in docs if doc["kind"] == "CronJob"]
    assert len(jobs) >= 2
    secrets, claims = set(), set()
    for job in jobs:
        assert job["spec"]["concurrencyPolicy"] == "Forbid"
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert "--once" in container["args"]
        (secret,) = [source["secretRef"]["name"] for source in container["envFrom"]]
        (claim,) = [
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        ]
        secrets.add(secret)
        claims.add(claim)
    assert len(secrets) == len(claims) == len(jobs)
    declared = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    assert {("Secret", name) for name in secrets} <= declared
    assert {("PersistentVolumeClaim", name) for name in claims} <= declared


def test_the_shipped_kubernetes_config_is_valid(tmp_path):
    docs = yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
    (config_map,) = [doc for doc in docs if doc["kind"] == "ConfigMap"]
    path = tmp_path / "config.yaml"
    path.write_text(config_map["data"]["config.yaml"])

    assert load_config(path, environ={}).exchange.venue == "testnet"
