"""A request of many rows is checked column by column: the same values, flags and errors as
checking each row alone, and one 100-row request answers as 100 single-row requests do
(the same labels and flags, probabilities within 1e-6)."""

from __future__ import annotations

import math

import pytest

from conftest import FEATURES
from modelward.errors import SchemaError

pytestmark = pytest.mark.sqlite_only


def _validator(ws, out_of_range: str = "flag"):
    from modelward.serving.validate import InputValidator

    return InputValidator(
        ws.registry.get_version("heart", 1).input_schema, out_of_range=out_of_range
    )


def _rows(cleveland, n: int = 100) -> list[dict]:
    """Cleveland rows as JSON sends them (null where missing), some outside the training
    data and some with a fraction where training had only whole numbers."""
    rows = [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in cleveland[FEATURES].head(n).to_dict(orient="records")
    ]
    rows[3]["chol"] = 900.0
    rows[7]["oldpeak"] = 12.5
    rows[9]["trestbps"] = 120.5
    rows[11]["thal"] = 5.0  # a code training never saw
    return rows


def _typed(values: list) -> list:
    return [(type(v), v) for v in values]


def test_columns_hold_what_each_row_checked_alone_holds(heart_ws, cleveland):
    validator = _validator(heart_ws)
    rows = _rows(cleveland)
    alone = [validator.check(row, f"inputs[{i}]") for i, row in enumerate(rows)]
    found = validator._columnar(rows)
    assert found is not None  # these rows take the columnar path
    columns, flags = found
    by_row = [[columns[name][i] for name in validator.names] for i in range(len(rows))]
    assert [_typed(r) for r in by_row] == [_typed(values) for values, _ in alone]
    assert flags == [f for _, f in alone]
    assert flags[3] == ["chol"] and "oldpeak" in flags[7] and "trestbps" in flags[9]
    assert any(v is None for column in columns.values() for v in column)  # missing values
    assert validator.check_rows(rows) == found


BAD = [
    ("age", "old"),  # wrong type
    ("age", True),  # a boolean is not a number
    ("age", 2**70),  # beyond 64 bits
    ("oldpeak", math.inf),
    ("nope", 1),  # not an input
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v!r}" for f, v in BAD])
def test_a_bad_row_among_good_ones_gets_the_error_it_gets_alone(heart_ws, cleveland, field, value):
    validator = _validator(heart_ws)
    rows = _rows(cleveland)
    rows[13][field] = value
    with pytest.raises(SchemaError) as alone:
        validator.check(rows[13], "inputs[13]")
    with pytest.raises(SchemaError) as batch:
        validator.check_rows(rows)
    assert batch.value.message == alone.value.message
    assert "inputs[13]" in batch.value.message


def test_with_reject_a_row_outside_the_training_data_refuses_the_request(heart_ws, cleveland):
    validator = _validator(heart_ws, "reject")
    rows = _rows(cleveland)
    with pytest.raises(SchemaError) as batch:
        validator.check_rows(rows)
    assert "inputs[3].chol = 900.0 is outside the training data" in batch.value.message


def test_a_100_row_request_answers_as_100_single_row_requests(live, cleveland):
    rows = _rows(cleveland, 100)
    with live.client() as http:
        batch = http.post("/v1/models/heart/predict", json={"inputs": rows})
        singles = [http.post("/v1/models/heart/predict", json={"inputs": r}) for r in rows]
    assert batch.status_code == 200, batch.text
    body = batch.json()
    answers = [s.json() for s in singles]
    assert body["predictions"] == [a["prediction"] for a in answers]
    # the ONNX graph computes in float32: a batch's sums may round apart in the 8th digit
    for got, alone in zip(body["probabilities"], answers, strict=True):
        assert got == pytest.approx(alone["probabilities"], abs=1e-6)
    assert body["flags"] == [a.get("flags", []) for a in answers]
