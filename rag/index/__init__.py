"""The built index: its manifest (and the one compatibility check), the atomic build, the store.

    manifest.py  Manifest, BuildKey, corpus fingerprint
    build.py     build_index, index_status (artifacts written by an injected ArtifactWriter)
    store.py     IndexStore (the interface), LocalStore (files in index/)
"""

from __future__ import annotations

from .build import ArtifactWriter, BuildReport, build_index, build_key, index_status
from .manifest import FORMAT, BuildKey, Manifest, read_manifest
from .store import IndexStore, LocalStore

__all__ = ["FORMAT", "ArtifactWriter", "BuildKey", "BuildReport", "IndexStore", "LocalStore", "Manifest",
           "build_index", "build_key", "index_status", "read_manifest"]
