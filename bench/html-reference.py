#!/usr/bin/env python3
"""Independent reference text of an HTML page for bench/extraction.bench.mjs: a DOM walk (Python's
html.parser, nothing shared with Loam's linkedom/Readability) of the page's content area — the
first of <main>, id="main-content", role="main", <article>, else <body> — leaving out what no
reader sees: scripts, styles, templates, forms' buttons, navigation (<nav>, role="navigation",
texinfo's navigation header), and hidden elements."""
import html.parser
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIP = {"script", "style", "noscript", "template", "svg", "button", "nav", "head", "title", "select", "textarea"}


def hidden(tag, attrs):
    a = dict(attrs)
    style = (a.get("style") or "").replace(" ", "").lower()
    cls = (a.get("class") or "").split()
    return ("hidden" in a or a.get("role") == "navigation" or "nav-panel" in cls or (tag == "div" and "header" in cls) or a.get("aria-hidden") == "true" or "display:none" in style
            or "visibility:hidden" in style or (tag == "dialog" and "open" not in a))


class Walk(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, skipping, area)
        self.out = {"main": [], "main-content": [], "role-main": [], "article": [], "body": []}
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        areas = []
        if tag == "main": areas.append("main")
        if a.get("id") == "main-content": areas.append("main-content")
        if a.get("role") == "main": areas.append("role-main")
        if tag == "article": areas.append("article")
        s = tag in SKIP or hidden(tag, attrs)
        self.stack.append((tag, s, areas))
        if s: self.skip += 1
        for ar in areas: self.out[ar].append("\0open")

    def handle_endtag(self, tag):
        while self.stack:
            t, s, areas = self.stack.pop()
            if s: self.skip -= 1
            for ar in areas: self.out[ar].append("\0close")
            if t == tag:
                break

    def handle_data(self, data):
        if self.skip:
            return
        self.out["body"].append(data)
        for ar in ("main", "main-content", "role-main", "article"):
            buf = self.out[ar]
            if buf.count("\0open") > buf.count("\0close"):
                buf.append(data)


w = Walk()
w.feed(open(sys.argv[1], encoding="utf-8", errors="replace").read())
for area in ("main-content", "main", "role-main", "article", "body"):
    text = " ".join(x for x in w.out[area] if not x.startswith("\0"))
    if len(text.strip()) >= 200 or area == "body":
        sys.stdout.write(text)
        break
