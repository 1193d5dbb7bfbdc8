"""docker-compose.yml is valid under the compose specification and runs real commands.

No Docker engine runs here, so the file is checked the way the engine would read it:
the compose-spec JSON schema (check-jsonschema's vendored copy), then every fedchain
service's command parsed by the real `fedchain` CLI, and the devnet's flags by anvil.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import typer
import yaml

from node.chain.devnet import anvil_binary
from node.cli.app import _register_plugins

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _fedchain_cli() -> Any:
    root = typer.Typer()
    _register_plugins(root)
    return typer.main.get_command(root)


def _usage_errors() -> tuple[type[Exception], ...]:
    # typer >= 0.20 vendors its own click; older ones use click itself
    kinds: list[type[Exception]] = [click.UsageError]
    try:
        from typer._click.exceptions import UsageError
    except ImportError:
        pass
    else:
        kinds.append(UsageError)
    return tuple(kinds)


def _resolve(cli: Any, args: list[str]) -> Any:
    """Parse ``args`` as the CLI would (options and their types included) without running.

    fedchain's groups take no options of their own, so each group consumes one word.
    """
    cmd, rest, path = cli, list(args), ["fedchain"]
    while hasattr(cmd, "list_commands"):
        assert rest, f"{' '.join(path)} needs a subcommand"
        sub = cmd.get_command(cmd.context_class(cmd, info_name=path[-1]), rest[0])
        assert sub is not None, f"no command {rest[0]!r} under {' '.join(path)}"
        path.append(rest.pop(0))
        cmd = sub
    cmd.make_context(path[-1], rest)  # raises a UsageError on an unknown/invalid option
    return cmd


def test_compose_file_validates_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_fedchain_service_command_is_a_real_command(compose) -> None:
    cli = _fedchain_cli()
    checked = []
    for name, service in compose["services"].items():
        if "entrypoint" in service:
            continue
        command = _resolve(cli, service["command"])
        checked.append((name, command.name))
    assert {n for n, _ in checked} >= {
        "deployer",
        "keys",
        "datagen",
        "hospital-1",
        "miner-1",
        "auditor",
    }
    assert ("miner-2", "serve") in checked and ("hospital-3", "serve") in checked
    assert {("genesis", "model-init"), ("align", "run"), ("open-round", "open")} <= set(checked)


def test_the_operator_aligns_the_running_hospitals_then_opens_round_one(compose) -> None:
    services = compose["services"]
    hospitals = sorted(n for n in services if n.startswith("hospital-"))
    align = services["align"]
    assert all(align["depends_on"][h]["condition"] == "service_healthy" for h in hospitals)
    # every hospital is relayed to, by the admin (the only non-hospital relay they accept)
    assert [a for a in align["command"] if a.startswith("http://")] == [
        f"http://{h}:8100" for h in hospitals
    ]
    assert align["environment"]["FEDCHAIN_DEVNET_ACCOUNT"] == "0"
    assert (
        "--run" in align["command"]
        and align["command"][align["command"].index("--run") + 1].isdigit()
    )  # the ledger records a uint64 run
    opener = services["open-round"]
    assert {
        k
        for k, v in opener["depends_on"].items()
        if v["condition"] == "service_completed_successfully"
    } == {"genesis", "align"}
    genesis_out = services["genesis"]["command"][-1]
    assert opener["command"][opener["command"].index("--init-weights") + 1] == genesis_out
    miners = opener["command"][opener["command"].index("--miners") + 1].split(",")
    assert miners == [f"http://{m}:8700" for m in sorted(services) if m.startswith("miner-")]


def test_a_misspelt_command_or_option_would_be_caught() -> None:
    cli = _fedchain_cli()
    with pytest.raises(_usage_errors()):
        _resolve(cli, ["miner", "serve", "--no-such-option"])
    with pytest.raises(_usage_errors()):
        _resolve(cli, ["keys", "init", "--miners", "three"])
    with pytest.raises(AssertionError, match="no command 'minr'"):
        _resolve(cli, ["minr", "serve"])


def test_devnet_service_uses_flags_anvil_knows(compose) -> None:
    service = compose["services"]["anvil"]
    assert service["entrypoint"] == ["anvil"]
    help_text = subprocess.run(
        [str(anvil_binary()), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (a for a in service["command"] if a.startswith("--")):
        assert re.search(rf"\s{re.escape(flag)}\b", help_text), flag
    assert "--prune-history" in service["command"]


def test_secrets_are_required_and_services_wait_for_health(compose) -> None:
    text = COMPOSE.read_text()
    required = ("FEDCHAIN_DOCTOR_TOKEN", "FEDCHAIN_NATIONAL_ID_SALT", "FEDCHAIN_AUDITOR_TOKEN")
    for variable in required:
        assert re.search(r"\$\{" + variable + r":\?", text), f"{variable} must be required"
    services = compose["services"]
    assert services["deployer"]["depends_on"]["anvil"]["condition"] == "service_healthy"
    for name, service in services.items():
        if name.startswith(("hospital-", "miner-")) or name == "auditor":
            assert "healthcheck" in service, name
            assert (
                service["depends_on"]["deployer"]["condition"] == "service_completed_successfully"
            )
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published)


def test_each_hospital_has_diagnosis_workers_on_its_own_database(compose) -> None:
    services = compose["services"]
    hospitals = sorted(n for n in services if n.startswith("hospital-"))
    for hospital in hospitals:
        workers = services[hospital.replace("hospital-", "diagnosis-")]
        command = workers["command"]
        database = command[command.index("--database") + 1]
        assert database == services[hospital]["environment"]["FEDCHAIN_DATABASE_URL"]
        assert int(command[command.index("--workers") + 1]) >= 2
        assert workers["depends_on"][hospital]["condition"] == "service_healthy"
        assert "hospital-data:/hospital-data" in workers["volumes"]
        assert all(p.startswith("127.0.0.1:") for p in workers["ports"])  # loopback only
        tokens = workers["environment"]["FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS"]
        assert tokens == services[hospital]["environment"]["FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS"]
