"""The shared contract between kiosks and the server.

Pure: no kivy, paho, requests, fastapi or server imports, no I/O at import
time. Topics, payload schemas, the pack manifest and page models live here.
"""
