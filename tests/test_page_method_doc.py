"""GET /method serves docs/method.md as a page (spouge/server/static/method.html), linked from the page.

The served file is made from docs/method.md by ``render`` below (the small Markdown subset that file uses:
headings, paragraphs, indented code, lists, one table, images embedded as data: URIs), so it cannot drift:
this test renders it again and compares.  After editing docs/method.md (or its pictures), regenerate with
``python tests/test_page_method_doc.py``.
"""

from __future__ import annotations

import base64
import html
import http.client
import pathlib
import re

import pytest

from server_harness import spouge_server

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "docs" / "method.md"
TARGET = ROOT / "spouge" / "server" / "static" / "method.html"

HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spouge — the method</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<!-- Generated from docs/method.md by tests/test_page_method_doc.py: edit that file, not this one. -->
<style>
  body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: #1d2330; background: #f6f7f9; }
  main { max-width: 860px; margin: 0 auto; padding: 24px 16px 48px; background: #fff; }
  a { color: #2457c5; }
  pre { background: #f3f5f9; padding: 10px 12px; border-radius: 6px; overflow-x: auto; }
  code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
  img { max-width: 100%; height: auto; border: 1px solid #d8dde6; border-radius: 6px; }
  table { border-collapse: collapse; } th, td { border: 1px solid #d8dde6; padding: 4px 10px; text-align: left; }
</style>
</head>
<body>
<main>
<p><a href="/">← back to the calculator</a></p>
"""
TAIL = "</main>\n</body>\n</html>\n"


def _inline(text: str) -> str:
    """Escape, then `code`, **bold**, *em* and [links](url); code spans keep their contents literal."""
    spans: list[str] = []

    def hold(m: re.Match) -> str:
        spans.append(f"<code>{html.escape(m.group(1))}</code>")
        return f"\x00{len(spans) - 1}\x00"

    text = html.escape(re.sub(r"`([^`]*)`", hold, text), quote=False).replace("\\|", "|")
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', text)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], text)


def _image(alt: str, name: str) -> str:
    data = base64.b64encode((SOURCE.parent / name).read_bytes()).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>'


def render(markdown: str) -> str:
    lines = markdown.splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := re.fullmatch(r"(#{1,6}) (.*)", line):
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif m := re.fullmatch(r"!\[([^\]]*)\]\(([^)\s]+)\)", line.strip()):
            out.append(_image(m.group(1), m.group(2)))
            i += 1
        elif line.startswith("    "):
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(block).rstrip())}</code></pre>")
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip())[1:-1]])
                i += 1
            head, body = rows[0], list(rows[2:])
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table>")
        elif re.match(r"\d+\. ", line):
            items = []
            while i < len(lines) and lines[i].strip():
                if re.match(r"\d+\. ", lines[i]):
                    items.append(lines[i].split(". ", 1)[1])
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            out.append("<ol>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ol>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "    ", "|", "![")):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return HEAD + "\n".join(out) + "\n" + TAIL


def test_served_file_is_rendered_from_docs():
    assert TARGET.read_text(encoding="utf-8") == render(SOURCE.read_text(encoding="utf-8")), \
        "docs/method.md changed: run python tests/test_page_method_doc.py"


def test_render_covers_every_heading_and_formula():
    source = SOURCE.read_text(encoding="utf-8")
    page = TARGET.read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.*)$", source, flags=re.MULTILINE)
    assert len(headings) >= 5
    for heading in headings:
        assert f">{_inline(heading)}</h" in page
    assert "B(a) = a^(−½) (2π)^(−a−½)" in page and page.count("data:image/png;base64,") == 2
    assert "<table>" in page and "<ol>" in page and "**" not in page and "`" not in page.split("<body>")[1]


@pytest.mark.parametrize("path, kind", [("/method", "text/html; charset=utf-8"), ("/favicon.svg", "image/svg+xml"),
                                        ("/favicon.ico", "image/svg+xml")])
def test_routes_are_served_without_the_password(path, kind):
    with spouge_server("--jobs", "0", "--requirepass", "s3cret") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200 and response.getheader("Content-Type") == kind
        expected = TARGET if path == "/method" else TARGET.parent / "favicon.svg"
        assert body == expected.read_bytes()
        conn.request("HEAD", path)
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b""
        assert int(response.getheader("Content-Length")) == len(body)
        conn.request("POST", path, body=b"x")
        response = conn.getresponse()
        assert response.status == 405 and response.read()
        conn.request("GET", "/v1/gamma?x=2")  # while the computing routes still need it
        response = conn.getresponse()
        assert response.status == 401 and response.read()
        conn.close()


if __name__ == "__main__":
    TARGET.write_text(render(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
