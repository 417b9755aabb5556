"""The workspace: where state lives (:class:`Layout`), and the Python entry point."""

from modelward.workspace.layout import Layout
from modelward.workspace.workspace import Workspace, resolve_root

__all__ = ["Layout", "Workspace", "resolve_root"]
