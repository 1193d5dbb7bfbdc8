"""The `fedchain` entry point: usage errors and fedchain errors reach the user as text."""

import subprocess
import sys


def _fedchain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.app", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_unknown_option_is_a_usage_error_not_a_traceback() -> None:
    result = _fedchain("chain", "up", "--bogus")
    assert result.returncode == 2
    assert "No such option" in result.stderr and "Traceback" not in result.stderr


def test_fedchain_error_prints_message_and_fix(tmp_path) -> None:
    env = {"FEDCHAIN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = _fedchain("network", "init", env=env)
    assert result.returncode == 2
    assert "error:" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_error_text_with_brackets_is_printed_verbatim_not_as_markup() -> None:
    script = (
        "import sys\n"
        "from node.cli import app as cli\n"
        "from node.errors import ToolMissing\n"
        "@cli.app.command('boom')\n"
        "def boom() -> None:\n"
        "    raise ToolMissing('[heart] data missing', fix=\"pip install 'fedchain[heart]'\")\n"
        "sys.argv = ['fedchain', 'boom']\n"
        "cli.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "[heart] data missing" in result.stderr
    assert "pip install 'fedchain[heart]'" in result.stderr
