"""The workspace: where state lives, and the Python entry point."""

from modelward.workspace.workspace import Workspace, resolve_root

__all__ = ["Workspace", "resolve_root"]
