"""Importers: other cluster managers' configuration in, hactl manifests out.

An operator moving from heartbeat (or, later, another stack) should not retype a
working configuration by hand: the importer does the mechanical translation and says,
line by line, what it could not carry over. Each importer is split into a pure
mapping (text in, manifest documents and warnings out) and thin file I/O, so that
every rule is testable without files and nothing from the input is ever executed.
"""
