"""report.html: the sweep's report as one self-contained page, to open offline, send, or print.

The markdown report (report.md) rendered by Python-Markdown (installed with TensorBoard) with
its `tables` extension, every figure it links embedded as a base64 `data:` URI (nothing is
fetched: the file alone is the report), and one style sheet in the page: tables with ruled
rows and right-aligned numbers, figures at the page's width, and print rules (A4 margins, a
table or figure never split across pages, link targets not printed) so a browser's "Print to
PDF" gives a document one could hand in.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1d1d1f; max-width: 72rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d0d5; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f2f2f5;
       padding: .05rem .25rem; border-radius: 3px; }
table { border-collapse: collapse; margin: .8rem 0; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e0e0e5; vertical-align: top; }
th { background: #f4f4f7; border-bottom: 2px solid #c8c8d0; text-align: left; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafc; }
img { max-width: 100%; height: auto; display: block; margin: .8rem 0; }
p, li { max-width: 52rem; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 11pt; }
  table, img, pre { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
# A cell of numbers (91.10 ± 0.16, −2.89 [−3.43, −2.36], <0.001, —): right-aligned, kept on one line.
NUMBER = re.compile(r"^[\s\d.,+\-−–—±\[\]<>%]*\d[\s\d.,+\-−–—±\[\]<>%]*$|^[—–-]$")


def html_page(markdown_text: str, folder: Path, title: str) -> str:
    """The page: `markdown_text` rendered, its images (paths relative to `folder`) embedded."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "sane_lists"], output_format="html")
    body = re.sub(r'<img([^>]*?)src="([^"]+)"', lambda m: f'<img{m.group(1)}src="{_embedded(folder, m.group(2))}"', body)
    body = re.sub(r"<td( style=\"[^\"]*\")?>([^<]*)</td>", lambda m: f'<td class="num">{m.group(2)}</td>'
                  if NUMBER.match(html.unescape(m.group(2))) else m.group(0), body)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _embedded(folder: Path, src: str) -> str:
    """A local PNG as a data: URI; anything else (already a URI, missing) as it was."""
    path = Path(folder) / src
    if src.startswith(("data:", "http:", "https:")) or not path.is_file():
        return src
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def write_html(markdown_text: str, folder: Path, title: str) -> Path:
    out = Path(folder) / "report.html"
    out.write_text(html_page(markdown_text, folder, title), encoding="utf-8")
    return out
