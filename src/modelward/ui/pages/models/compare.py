"""``/models/{name}/compare?a=&b=``: two versions' params and metrics, differing values
marked (the "compare runs" habit)."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import json_value, moment
from modelward.ui.pages.models.lookup import (
    find_model,
    flatten,
    model_name,
    no_version,
    version_number,
)
from modelward.ui.view import Page, View

__all__ = ["compare_page"]


def compare_page(view: View) -> Page:
    name = model_name(view)
    a = version_number(view.arg("a"), "a")
    b = version_number(view.arg("b"), "b")
    with view.ws.sql.snapshot() as run:
        model_id = find_model(run, name)[0]
        rows = {
            row[0]: row
            for row in run(
                "SELECT version, stage, flavor, params, metrics, tags, created_at "
                "FROM model_versions WHERE model_id = :m AND version IN (:a, :b)",
                {"m": model_id, "a": a, "b": b},
            )
        }
        for number in (a, b):
            if number not in rows:
                raise no_version(run, name, model_id, number)
    left, right = rows[a], rows[b]
    sections: list[dict[str, Any]] = []
    for title, index in (("Params", 3), ("Metrics", 4), ("Tags", 5)):
        one = flatten(json_value(left[index]) or {})
        two = flatten(json_value(right[index]) or {})
        keys = list(dict.fromkeys([*one, *two]))
        sections.append(
            {
                "title": title,
                "rows": [
                    {
                        "key": k,
                        "a": one.get(k),
                        "b": two.get(k),
                        "differs": k not in one or k not in two or one[k] != two[k],
                    }
                    for k in keys
                ],
            }
        )
    return Page(
        "compare.html.j2",
        f"{name}: v{a} vs v{b}",
        {
            "name": name,
            "a": {"version": a, "stage": left[1], "flavor": left[2], "at": moment(left[6])},
            "b": {"version": b, "stage": right[1], "flavor": right[2], "at": moment(right[6])},
            "sections": sections,
            "differing": sum(r["differs"] for s in sections for r in s["rows"]),
        },
    )
