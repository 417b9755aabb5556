"""The demos `make demo` runs build the dashboard's workspace: both ran end to end (the
heart-disease runbook, then the LLM fleet's act on the fake providers in the same
workspace) and said what a user reads (tests/ui/conftest.py keeps their output)."""

from __future__ import annotations

from ui.conftest import demo_output


def test_the_heart_disease_demo_ran_the_runbook(built_folder):
    out = demo_output(built_folder, "heart-disease")
    for step in ("1. Create a workspace", "6. Deploy", "8. A canary rollout of version 2",
                 "10. The record"):  # fmt: skip
        assert step in out


def test_the_llm_demo_ran_on_fake_providers_in_the_same_workspace(built_folder):
    out = demo_output(built_folder, "llm")
    assert "FAKE LLM providers" in out
    assert "Routing table revision 1 written" in out
    assert "cache hit" in out
    assert "big-accurate:1 testing → staging" in out
    assert "modelward init" not in out  # it used the heart-disease demo's workspace
