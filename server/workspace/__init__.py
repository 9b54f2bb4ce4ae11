"""The publishers' workspace: pack drafts with history on the server (drafts.py),
what changed between versions (history.py), the translation state of every
page (grid.py), the command line (cli.py) and the web pages and API (web.py).
See content_packs/README.md ("The workspace").
"""
