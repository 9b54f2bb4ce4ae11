"""The publishers' workspace (issue 13): pack sources on the server, edited in the browser.

    drafts.py     one git repository per pack (dulwich): save, conflict, history, restore
    history.py    what changed between two versions, file by file
    grid.py       every page x language: up to date, needs update, missing, lint error
    tree.py       add, move, remove pages (pack.toml edited as text)
    checks.py     lint of unsaved files (a push is refused when lint fails)
    uploads.py    pictures: type from the bytes, lint's size and pixel limits
    preview.py    the kiosk's own drawing of a page (`bgk pack preview` in a worker), cached
    archive.py    a version as tar.gz for `bgk pack pull/push`
    freeze.py     a version frozen and built reproducibly (what a review shows and publishes)
    review_build.py   "request publication": lint + build of a frozen version, in a thread
    review_diff.py    a review's build against the published pack: text, media
    review_decide.py  comment, reject, approve (two-person: opens the signing event)
    api.py        /api/v1/workspace/... (viewer reads, editor writes; every route checks)
    web.py        the pages: /workspace, the grid, the editor; the preview route
    cli.py        bgk pack import / pull / push / translated
    demo_part.py  its part of `bgk demo`

Translations' source records are a pack format matter: server/packs/translation.py.
The reviews' table and moves are server/packs/reviews.py (`bgk server publish --review N`,
server/packs/review_publish.py, moves them too, and packs never import the workspace).
The user's view: content_packs/README.md ("Translations that fall behind", "The
workspace on the server") and README.md ("The publishers' workspace in the demo").
"""
