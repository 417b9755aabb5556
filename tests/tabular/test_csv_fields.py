"""A CSV row with too few or too many fields is refused, naming its line, by every command.

pandas pads a short row with NaN without a word; every command reads CSV through
``modelward.data.csvfile.read_csv``, which counts each line's fields first.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import FEATURES
from modelward.data import read_data
from modelward.errors import DataError
from tabular.helpers import write_config

pytestmark = pytest.mark.sqlite_only


def _broken(tmp_path: Path, cleveland: pd.DataFrame, fields: int, line: int = 17) -> Path:
    """Cleveland as a CSV (header on line 1) whose line ``line`` has ``fields`` fields."""
    path = tmp_path / "data.csv"
    lines = cleveland[[*FEATURES, "target"]].to_csv(index=False).splitlines()
    cells = lines[line - 1].split(",")
    lines[line - 1] = ",".join((cells + ["1"] * fields)[:fields])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _message(path: Path, fields: int, line: int = 17) -> str:
    return f"{path} line {line} has {fields} fields, the header has 14; fix or remove the line"


def _one_line(ran, message: str) -> None:
    assert ran.exit_code == 2, ran.stderr
    assert message in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("fields", [12, 13, 15])
def test_every_command_refuses_a_row_with_the_wrong_field_count(
    workspace, cli, cleveland, tmp_path, model_file, fields
):
    data = _broken(tmp_path, cleveland, fields)
    message = _message(data, fields)
    for args in (
        ("data", "validate", data),
        ("data", "profile", data),
        ("register", "heart", "--model", model_file, "--data", data, "--target", "target"),
        ("train", "--config", write_config(tmp_path, data=str(data))),
    ):
        _one_line(cli(*args), message)
    assert workspace.registry.list_models() == []
    good = tmp_path / "good.csv"
    cleveland[[*FEATURES, "target"]].to_csv(good, index=False)
    ran = cli("register", "heart", "--model", model_file, "--data", good, "--target", "target")
    assert ran.exit_code == 0, ran.stderr
    _one_line(cli("evaluate", "heart", "1", "--data", data), message)
    _one_line(cli("validate", "heart", "1", "--data", data), message)
    assert workspace.registry.list_runs() == []


def test_the_line_is_the_physical_line_counting_blank_lines_and_quoted_line_breaks(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note,score\n1,plain,3\n\n2,"two\nlines",4\n   \n3,short\n4,ok,5\n')
    with pytest.raises(DataError) as caught:
        read_data(path)
    assert caught.value.message == (
        f"{path} line 7 has 2 fields, the header has 3; fix or remove the line"
    )
    path.write_text('id,note,score\n1,plain,3\n\n2,"two\nlines",4\n   \n3,ok,5\n')
    frame = read_data(path)  # blank and space-only lines are skipped, as pandas does
    assert frame["note"].tolist() == ["plain", "two\nlines", "ok"]


def test_a_header_shorter_than_the_rows_is_refused_not_made_an_index(tmp_path):
    path = tmp_path / "shifted.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="line 2 has 3 fields, the header has 2"):
        read_data(path)


def test_a_dataset_spec_part_is_checked_against_its_column_names(tmp_path):
    (tmp_path / "part.data").write_text("1,2,3\n4,5\n")
    spec = tmp_path / "d.yml"
    spec.write_text("format: csv\nheader: false\ncolumns: [a, b, c]\nparts: {one: part.data}\n")
    with pytest.raises(DataError) as caught:
        read_data(spec)
    assert caught.value.message == (
        f"{tmp_path / 'part.data'} line 2 has 2 fields, the dataset spec names 3 columns; "
        "fix or remove the line"
    )
    (tmp_path / "part.data").write_text("1,2,3,4\n5,6,7,8\n")  # not the index: refused
    with pytest.raises(DataError, match="line 1 has 4 fields, the dataset spec names 3"):
        read_data(spec)
    (tmp_path / "part.data").write_text("1,2,3\n4,5,6\n")
    assert read_data(spec)[["a", "b", "c"]].values.tolist() == [[1, 2, 3], [4, 5, 6]]
