"""The report document model, its one template, and atomic writing."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelward.atomic import write_atomic
from modelward.errors import ConfigError
from modelward.present import fmt

__all__ = ["Document", "Section", "check_report_path", "figure_uri", "write_html"]


@dataclass
class Section:
    title: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def text(self, text: str) -> Section:
        self.blocks.append({"kind": "text", "text": text})
        return self

    def table(self, columns: list[str], rows: list[list[Any]], *, caption: str = "") -> Section:
        cells = [[fmt(cell) for cell in row] for row in rows]
        marks = [
            ["fail" if c in ("fail", "FAIL") else "pass" if c == "pass" else "" for c in row]
            for row in cells
        ]
        self.blocks.append(
            {"kind": "table", "columns": columns, "rows": cells, "marks": marks, "caption": caption}
        )
        return self

    def image(self, uri: str, caption: str = "") -> Section:
        self.blocks.append({"kind": "image", "uri": uri, "caption": caption})
        return self


@dataclass
class Document:
    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        section = Section(title)
        self.sections.append(section)
        return section

    def to_markdown(self) -> str:
        """The same document as Markdown (figures are left to the HTML version)."""
        lines = [f"# {self.title}", ""]
        if self.subtitle:
            lines += [f"_{self.subtitle}_", ""]
        for section in self.sections:
            lines += [f"## {section.title}", ""]
            for block in section.blocks:
                if block["kind"] == "text":
                    lines += [block["text"], ""]
                elif block["kind"] == "table":
                    if block["caption"]:
                        lines += [f"**{block['caption']}**", ""]
                    lines.append("| " + " | ".join(block["columns"]) + " |")
                    lines.append("|" + "---|" * len(block["columns"]))
                    for row in block["rows"]:
                        cells = [str(c).replace("|", "\\|").replace("\n", " ") for c in row]
                        lines.append("| " + " | ".join(cells) + " |")
                    lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def render(self) -> str:
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        return env.get_template("document.html.j2").render(doc=self)


def figure_uri(fig: Any) -> str:
    """A matplotlib figure as a PNG ``data:`` URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def check_report_path(path: Path | str, option: str = "--report") -> Path:
    """A one-line ConfigError for a report path that cannot work (checked before any work)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{option} {path}: the report is HTML; name it e.g. report.html")
    if not path.parent.exists():
        raise ConfigError(f"{option} {path}: the folder {path.parent} does not exist; create it")
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; name a file such as report.html")
    return path


def write_html(path: Path | str, document: Document) -> Path:
    """Render and write atomically; a bad path is a one-line ConfigError."""
    path = check_report_path(path)
    return write_atomic(path, document.render())
