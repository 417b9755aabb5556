"""The one error tree: complete, drawn once, and mapped to exit codes and HTTP statuses."""

from __future__ import annotations

import pytest

import modelward
from modelward import errors


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_the_tree_docstring_draws_every_error_class():
    classes = {errors.ModelwardError, errors.CheckFailed} | _subclasses(errors.ModelwardError)
    drawn = errors.__doc__ or ""
    assert [c.__name__ for c in classes if c.__name__ not in drawn] == []


def test_two_families_user_mistakes_exit_2_and_4xx_dependencies_exit_3_and_5xx():
    """Your input is wrong (exit 2, HTTP 4xx) and something we depend on failed (exit 3,
    HTTP 5xx, or the provider's own 429) are different families; a check that ran and
    found a problem is neither (exit 1)."""
    users = _subclasses(errors.UserError)
    dependencies = _subclasses(errors.DependencyError)
    assert users | dependencies | {errors.UserError, errors.DependencyError} == _subclasses(
        errors.ModelwardError
    )
    for cls in users | {errors.UserError}:
        assert cls.exit_code == 2 and 400 <= cls.status < 500, cls
    for cls in dependencies | {errors.DependencyError}:
        assert cls.exit_code == 3, cls
        assert cls.status >= 500 or cls is errors.ProviderRateLimited, cls
    for cls in {errors.ModelwardError} | _subclasses(errors.ModelwardError):
        error = cls("something is wrong; fix it", field="x")
        assert error.to_dict() == {
            "error": {"code": cls.code, "message": "something is wrong; fix it", "field": "x"}
        }
    assert errors.CheckFailed.exit_code == 1
    assert not issubclass(errors.CheckFailed, errors.ModelwardError)


def test_translated_errors_keep_their_cause():
    """``raise … from None`` would drop the backend error the logs need; every translation
    chains it (``from exc``)."""
    from pathlib import Path

    source = Path(errors.__file__).parent
    dropped = [
        f"{path.relative_to(source)}:{number}"
        for path in sorted(source.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.rstrip().endswith("from None")
    ]
    assert dropped == []


def test_every_error_class_is_exported():
    public = {errors.ModelwardError, errors.CheckFailed} | {
        c for c in _subclasses(errors.ModelwardError) if c.__module__ == "modelward.errors"
    }
    assert {c.__name__ for c in public} <= set(modelward.__all__)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "error: No such command 'nosuch'; see `modelward --help`"),
        (
            ["models", "list", "--bogus"],
            "error: No such option: --bogus; see `modelward models list --help`",
        ),
        (["history"], "error: Missing argument 'name'; see `modelward history --help`"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(capsys, argv, message):
    from modelward.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.strip() == message and err.count("\n") == 1


def test_a_bare_group_prints_its_help_and_exits_0(capsys):
    from modelward.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["models"])
    assert exited.value.code == 0
    assert "list" in capsys.readouterr().out
