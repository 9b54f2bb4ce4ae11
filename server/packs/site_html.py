"""The HTML of the pack's web copy (`bgk pack site`): one function per page kind.

Semantic and plain: landmarks (header, nav, main, footer), one h1, headings in
order, lists as lists, pictures as figures with their caption as alternative
text, a skip link, the language of every page and of every language name
(`lang`, so browsers and screen readers pick fonts and voices), links that are
relative (the folder works at any address, and from a disk). Thai and Lao
words are kept whole (the builder's word tokens; `<wbr>` between them), as the
kiosk does. No scripts but offline.js, which only lets the site be read
offline; no cookies, nothing from elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

from kiosk.protocol.languages import ENDONYMS
from kiosk.protocol.pack import (
    Block,
    Heading,
    Image,
    ListBlock,
    Manifest,
    PageDoc,
    PageEntry,
    Strings,
    Tokens,
    Video,
    plain_text,
)

#: the `lang` attribute of each pack language (Simplified Chinese named as such)
HTML_LANG = {"vi": "vi", "en": "en", "lo": "lo", "th": "th", "zh": "zh-Hans"}
#: scripts written without spaces, whose words the builder marked
NO_SPACES = {"Thai", "Laoo"}


@dataclass(frozen=True)
class SiteContext:
    manifest: Manifest
    strings: dict[str, Strings]
    #: pages shown (the others' links become plain text)
    visible: frozenset[str]
    #: picture path -> (width, height) as the site serves it
    pictures: dict[str, tuple[int, int]]
    #: page documents by (page id, language), where a caller has them at hand
    docs: dict[tuple[str, str], PageDoc] = field(default_factory=dict)

    def ui(self, lang: str, key: str) -> Tokens:
        return self.strings[lang].ui.get(key, ())

    def title(self, lang: str, page_id: str) -> Tokens:
        return self.strings[lang].pages.get(page_id, ())


def inline(tokens: Tokens, visible: Iterable[str] = ()) -> str:
    """Tokens as HTML: bold, links to visible pages, Thai/Lao words kept whole."""
    shown = set(visible)
    out: list[str] = []
    open_bold = open_link = None
    for index, tok in enumerate(tokens):
        link = tok.l if tok.l in shown else None
        if (link, tok.b) != (open_link, open_bold):
            if open_bold:
                out.append("</strong>")
            if open_link:
                out.append("</a>")
            if link:
                out.append(f'<a href="{escape(link)}.html">')
            if tok.b:
                out.append("<strong>")
            open_link, open_bold = link, tok.b
        text = tok.t
        if tok.s in NO_SPACES and text.strip():
            word = text.rstrip(" ")
            out.append(f'<span class="w">{escape(word)}</span>{" " * (len(text) - len(word))}')
            nxt = tokens[index + 1] if index + 1 < len(tokens) else None
            if nxt is not None and not nxt.j and not text.endswith(" "):
                out.append("<wbr>")
        else:
            out.append(escape(text))
    if open_bold:
        out.append("</strong>")
    if open_link:
        out.append("</a>")
    return "".join(out).strip()


def _attr(tokens: Tokens) -> str:
    return escape(plain_text(tokens).strip(), quote=True)


def block_html(block: Block, ctx: SiteContext, prefix: str) -> str:
    if isinstance(block, Heading):
        level = max(2, block.level)
        return f"<h{level}>{inline(block.text, ctx.visible)}</h{level}>"
    if isinstance(block, ListBlock):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{inline(item, ctx.visible)}</li>" for item in block.items)
        return f"<{tag}>{items}</{tag}>"
    if isinstance(block, Image | Video):
        src = block.poster if isinstance(block, Video) else block.src
        width, height = ctx.pictures[src]
        caption = inline(block.caption, ctx.visible)
        img = (
            f'<img src="{prefix}{escape(src)}" alt="{_attr(block.caption)}" '
            f'width="{width}" height="{height}" loading="lazy">'
        )
        return (
            f"<figure>{img}"
            + (f"<figcaption>{caption}</figcaption>" if caption else "")
            + ("</figure>")
        )
    return f"<p>{inline(block.text, ctx.visible)}</p>"


def _head(lang: str, title: str, prefix: str, alternates: dict[str, str]) -> str:
    links = "".join(
        f'<link rel="alternate" hreflang="{HTML_LANG[code]}" href="{escape(href)}">'
        for code, href in alternates.items()
    )
    return (
        f'<!doctype html>\n<html lang="{HTML_LANG[lang]}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{prefix}site.css">\n'
        f'<link rel="icon" href="{prefix}favicon.svg" type="image/svg+xml">\n{links}\n'
        f'<script src="{prefix}offline.js" defer></script>\n</head>\n'
    )


def _lang_switch(ctx: SiteContext, lang: str, target: str, label: Tokens) -> str:
    items = []
    for code in ctx.manifest.languages:
        name = escape(ENDONYMS[code])
        if code == lang:
            items.append(f'<li><a href="{target}" lang="{HTML_LANG[code]}" aria-current="page">'
                         f"{name}</a></li>")  # fmt: skip
        else:
            items.append(
                f'<li><a href="../{code}/{target}" lang="{HTML_LANG[code]}" '
                f'hreflang="{HTML_LANG[code]}">{name}</a></li>'
            )
    return f'<nav class="langs" aria-label="{_attr(label)}"><ul>{"".join(items)}</ul></nav>'


def _frame(ctx: SiteContext, lang: str, target: str, title: str, main: str) -> str:
    """A language's page: header with the pack title and the language switch, main, footer."""
    alternates = {code: f"../{code}/{target}" for code in ctx.manifest.languages}
    pack_title = inline(ctx.strings[lang].pack_title)
    home = inline(ctx.ui(lang, "home"))
    return (
        _head(lang, title, "../", alternates)
        + "<body>\n"
        + f'<a class="skip" href="#main">{inline(ctx.ui(lang, "skip_to_content"))}</a>\n'
        + f'<header class="top"><p class="pack"><a href="index.html">{pack_title}</a></p>\n'
        + _lang_switch(ctx, lang, target, ctx.ui(lang, "language"))
        + "</header>\n"
        + f'<main id="main">\n{main}\n</main>\n'
        + f'<footer class="foot"><p><a href="index.html">{home}</a> · {pack_title} · '
        + f"v{ctx.manifest.version}</p></footer>\n</body>\n</html>\n"
    )


def _page_list(ctx: SiteContext, lang: str, pages: Iterable[PageEntry]) -> str:
    items = []
    for page in pages:
        icon = ""
        if page.icon and page.icon in ctx.pictures:
            icon = f'<img src="../{escape(page.icon)}" alt="" width="48" height="48">'
        title = inline(ctx.title(lang, page.id))
        items.append(f'<li><a href="{page.id}.html">{icon}<span>{title}</span></a></li>')
    return f'<ul class="tiles">{"".join(items)}</ul>'


def home_html(ctx: SiteContext, lang: str) -> str:
    tops = [p for p in ctx.manifest.top_pages() if p.id in ctx.visible]
    title = plain_text(ctx.strings[lang].pack_title).strip()
    main = (
        f"<h1>{inline(ctx.strings[lang].pack_title)}</h1>\n"
        f'<nav aria-label="{escape(title, quote=True)}">{_page_list(ctx, lang, tops)}</nav>'
    )
    return _frame(ctx, lang, "index.html", title, main)


def page_html(ctx: SiteContext, page: PageEntry, doc: PageDoc) -> str:
    lang = doc.lang
    by_id = {p.id: p for p in ctx.manifest.pages}
    trail: list[PageEntry] = []
    node = by_id.get(page.parent) if page.parent else None
    while node is not None:
        trail.insert(0, node)
        node = by_id.get(node.parent) if node.parent else None
    crumbs = [f'<li><a href="index.html">{inline(ctx.ui(lang, "home"))}</a></li>']
    crumbs += [f'<li><a href="{p.id}.html">{inline(ctx.title(lang, p.id))}</a></li>' for p in trail]
    crumbs.append(f'<li aria-current="page">{inline(doc.title)}</li>')
    breadcrumb = (
        f'<nav class="crumbs" aria-label="{_attr(ctx.ui(lang, "breadcrumb"))}">'
        f"<ol>{''.join(crumbs)}</ol></nav>"
    )
    body = "\n".join(block_html(b, ctx, "../") for b in doc.blocks)
    children = [p for p in ctx.manifest.children(page.id) if p.id in ctx.visible]
    section = ""
    if children:
        section = (
            f'<section aria-labelledby="sub"><h2 id="sub">'
            f"{inline(ctx.ui(lang, 'in_this_section'))}</h2>{_page_list(ctx, lang, children)}"
            "</section>"
        )
    main = f"{breadcrumb}\n<h1>{inline(doc.title)}</h1>\n{body}\n{section}"
    title = f"{plain_text(doc.title).strip()} · {plain_text(ctx.strings[lang].pack_title).strip()}"
    return _frame(ctx, lang, f"{page.id}.html", title, main)


def chooser_html(ctx: SiteContext) -> str:
    """The site's front door: each language's name, in its own language."""
    m = ctx.manifest
    first = m.default_language
    alternates = {code: f"{code}/index.html" for code in m.languages}
    items = "".join(
        f'<li><a href="{code}/index.html" lang="{HTML_LANG[code]}" hreflang="{HTML_LANG[code]}">'
        f'<span class="name">{escape(ENDONYMS[code])}</span>'
        f'<span class="title">{inline(ctx.strings[code].pack_title)}</span></a></li>'
        for code in m.languages
    )
    title = plain_text(ctx.strings[first].pack_title).strip()
    return (
        _head(first, title, "", alternates)
        + '<body class="chooser">\n<main id="main">\n'
        + f"<h1>{inline(ctx.strings[first].pack_title)}</h1>\n"
        + f'<nav aria-label="{_attr(ctx.ui(first, "language"))}"><ul class="choose">{items}</ul></nav>\n'
        + "</main>\n</body>\n</html>\n"
    )
