"""Writing a report: one list of blocks rendered twice, as Markdown and as self-contained HTML, plus
every table as CSV and LaTeX (``DataFrame.to_latex``, booktabs) for pasting into a paper.

A :class:`Document` is a list of blocks (heading, paragraph, table, figure, code). Markdown links the
figures (``figures/NAME.png``); HTML embeds them as base64 so the file can be sent alone.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd


@dataclasses.dataclass
class Block:
    kind: str  # heading, text, table, figure, code
    content: Any  # text for a heading, paragraph or code; a DataFrame for a table; a file name for a figure
    level: int = 2
    caption: str = ""


class Document:
    """The report as blocks, in order; :meth:`markdown` and :meth:`html` render it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.blocks: list[Block] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(Block("heading", text, level))

    def text(self, text: str) -> None:
        self.blocks.append(Block("text", text))

    def table(self, frame: pd.DataFrame, index: bool = False) -> None:
        self.blocks.append(Block("table", frame.reset_index() if index else frame))

    def figure(self, file_name: str | None, caption: str) -> None:
        if file_name:
            self.blocks.append(Block("figure", file_name, caption=caption))

    def code(self, text: str) -> None:
        self.blocks.append(Block("code", text))

    def markdown(self) -> str:
        parts = [f"# {self.title}"]
        for block in self.blocks:
            if block.kind == "heading":
                parts.append("#" * block.level + " " + block.content)
            elif block.kind == "text":
                parts.append(block.content)
            elif block.kind == "table":
                parts.append(display(block.content).to_markdown(index=False))
            elif block.kind == "figure":
                parts.append(f"![{block.caption}](figures/{block.content})\n\n*{block.caption}*")
            elif block.kind == "code":
                parts.append(f"```\n{block.content}\n```")
        return "\n\n".join(parts) + "\n"

    def html(self, figures: Path) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            if block.kind == "heading":
                body.append(f"<h{block.level}>{html.escape(block.content)}</h{block.level}>")
            elif block.kind == "text":
                body.append(f"<p>{_inline(block.content)}</p>")
            elif block.kind == "table":
                body.append(display(block.content).to_html(index=False, border=0, classes="table", na_rep="—"))
            elif block.kind == "figure":
                data = base64.b64encode((figures / block.content).read_bytes()).decode()
                body.append(f'<figure><img alt="{html.escape(block.caption)}" src="data:image/png;base64,{data}">'
                            f"<figcaption>{_inline(block.caption)}</figcaption></figure>")
            elif block.kind == "code":
                body.append(f"<pre><code>{html.escape(block.content)}</code></pre>")
        return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(self.title)}</title>"
                f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
         "table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border-bottom:1px solid #ddd;"
         "padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}img{max-width:100%}"
         "figcaption{font-style:italic;color:#555}code{background:#f4f4f4;padding:0 .2em}pre{background:#f4f4f4;"
         "padding:.8em;overflow-x:auto}")


def _inline(text: str) -> str:
    """The little Markdown the report's sentences use: `code`, **bold**, line breaks."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    return escaped.replace("\n", "<br>")


def number(value: object) -> object:
    """A float as a table shows it: 4 significant digits, "—" for missing."""
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.4g}"
    return value


def display(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(number) if not frame.empty else frame


def write_table(frame: pd.DataFrame, folder: Path, name: str, index: bool = False) -> None:
    """``NAME.csv`` (full precision) and ``NAME.tex`` (booktabs tabular, 4 significant digits)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{name}.csv", index=index)
    shown = display(frame.reset_index() if index else frame)
    shown.columns = [str(c) for c in shown.columns]
    (folder / f"{name}.tex").write_text(shown.to_latex(index=False, escape=True))
