"""Helpers for the tabular tests: example configs written to tmp_path, policy edits."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import HEART_SPEC

CONFIGS = HEART_SPEC.parent / "configs"


def write_config(tmp_path: Path, kind: str = "logreg", /, **changes: object) -> Path:
    """An example config, with its data path made absolute and ``changes`` applied."""
    raw = yaml.safe_load((CONFIGS / f"{kind}.yml").read_text(encoding="utf-8"))
    raw["data"] = f"{HEART_SPEC}#cleveland"
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    path = tmp_path / f"{kind}-{len(list(tmp_path.glob('*.yml')))}.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def relax_policy(workspace, **sections: dict) -> None:
    """Rewrite the workspace's policy.yml with some sections changed."""
    from conftest import heart_policy
    from modelward.policy import Policy, dump_policy

    raw = heart_policy().model_dump()
    for section, values in sections.items():
        raw[section].update(values)
    (workspace.root / "policy.yml").write_text(dump_policy(Policy.model_validate(raw)))
    workspace.__dict__.pop("policy", None)
