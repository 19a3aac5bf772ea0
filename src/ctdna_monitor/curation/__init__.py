"""Curation tools for the knowledge base: placement on both builds and candidate import (research use only).

Used by maintainers and by the tests that re-derive every coordinate; the workflow itself only reads the
finished knowledge base (`ctdna_monitor.knowledgebase`).
"""
