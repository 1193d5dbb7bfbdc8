"""The demo's data choice: heart means the four UCI centres and the heart schema."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from node.cli.demo import demo
from node.errors import ValidationFailed
from node.netup import NetworkOptions


def test_heart_data_selects_the_heart_schema_and_generated_the_general_one():
    assert NetworkOptions(hospitals=4, data="heart").schema == "uci-heart"
    assert NetworkOptions().schema == "general"


def test_heart_data_with_other_than_four_hospitals_is_refused_naming_hospitals():
    with pytest.raises(ValidationFailed) as caught:
        NetworkOptions(hospitals=3, data="heart")
    assert caught.value.field == "hospitals" and "--hospitals 4" in (caught.value.fix or "")


def test_unknown_demo_data_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        NetworkOptions(data="mimic")
    assert caught.value.field == "data"


def test_demo_command_refuses_heart_with_three_hospitals_before_starting_anything(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    app.command()(demo)
    result = CliRunner().invoke(app, ["--data", "heart", "--hospitals", "3"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationFailed)
    assert not (tmp_path / "demo").exists()
