"""The publishers' workspace (issue 13): pack sources on the server, edited in the browser.

    drafts.py     one git repository per pack (dulwich): save, conflict, history, restore
    history.py    what changed between two versions, file by file
    grid.py       every page x language: up to date, needs update, missing, lint error
    tree.py       add, move, remove pages (pack.toml edited as text)
    checks.py     lint of unsaved files (a push is refused when lint fails)
    uploads.py    pictures: type from the bytes, lint's size and pixel limits
    preview.py    the kiosk's own drawing of a page (`bgk pack preview` in a worker), cached
    archive.py    a version as tar.gz for `bgk pack pull/push`
    api.py        /api/v1/workspace/... (viewer reads, editor writes; every route checks)
    web.py        the pages: /workspace, the grid, the editor; the preview route
    cli.py        bgk pack import / pull / push / translated
    demo_part.py  its part of `bgk demo`

Translations' source records are a pack format matter: server/packs/translation.py.
The user's view: content_packs/README.md ("Translations that fall behind", "The
workspace on the server") and README.md ("The publishers' workspace in the demo").
"""
