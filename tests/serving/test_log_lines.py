"""A request's log rows encoded column by column hold exactly what one JSON line per row
holds: text with quotes, commas and backslashes, missing values, flags, probabilities; a
value JSON cannot carry as it is leaves the row-by-row path to set the row aside."""

from __future__ import annotations

import numpy as np
import orjson

from modelward.predlog.convert import json_line
from modelward.serving.loglines import json_lines, json_texts

AWKWARD = ["", ",", '","', '\\"', "a\\", "x},{y", "é ü", "\n\t", "plain"]


def _decoded(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in data.splitlines()]


def test_column_lines_decode_to_the_rows_a_line_per_row_gives():
    rng = np.random.default_rng(3)
    n = 40
    head = {"k": "predictions", "m": "m", "ts": 17, "status": "ok", "client": 'c"%,'}
    keys = ["0", "1", 'odd","key']
    proba = rng.random((n, 3))
    columns = {
        "request_id": [f'r"1-{i}' for i in range(n)],
        "prediction": [AWKWARD[i % len(AWKWARD)] for i in range(n)],
        "score": [None if i % 5 == 0 else float(rng.random()) for i in range(n)],
        "flags": [None if i % 3 else "age,chol" for i in range(n)],
        "in_text": [None if i % 4 == 0 else AWKWARD[(i * 7) % len(AWKWARD)] for i in range(n)],
        "in_int": [int(v) for v in rng.integers(-(2**62), 2**62, n)],
        "in_bool": [[True, False, None][i % 3] for i in range(n)],
        "in_empty": [""] * n,
        "in_none": [None] * n,
    }
    lines = json_lines(head, [*columns.items(), ("proba", json_texts(keys, proba))])
    assert lines is not None
    by_row = b"".join(
        json_line(
            {
                **head,
                **{name: values[i] for name, values in columns.items()},
                "proba": orjson.dumps(dict(zip(keys, proba[i].tolist(), strict=True))).decode(),
            }
        )
        for i in range(n)
    )
    assert _decoded(lines) == _decoded(by_row)
    assert len(lines.splitlines()) == n


def test_a_value_json_cannot_carry_leaves_the_rows_to_the_row_by_row_path():
    head = {"k": "predictions", "m": "m"}
    assert json_lines(head, [("in_big", [1, 2**70])]) is None
    assert json_lines(head, [("in_x", [])]) is None  # no rows, no lines
    assert json_lines(head, [("a", [1, 2]), ("b", [1])]) is None  # columns of unequal length


def test_one_row_is_the_line_a_row_gives():
    head = {"k": "predictions", "m": "m", "ts": 1}
    proba = np.array([[0.25, 0.75]])
    line = json_lines(head, [("in_t", ['a","b']), ("proba", json_texts(["0", "1"], proba))])
    assert line is not None
    row = {**head, "in_t": 'a","b', "proba": '{"0":0.25,"1":0.75}'}
    assert _decoded(line) == _decoded(json_line(row))
    assert json_lines(head, [("in_big", [2**70])]) is None
