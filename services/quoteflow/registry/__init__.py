"""The model store: immutable versions, stages and their audit trail."""

from quoteflow.registry.store import (
    ArtifactError,
    ModelVersion,
    Registry,
    RegistryError,
    StageError,
    TamperedArtifactError,
    VersionExistsError,
)

__all__ = [
    "ArtifactError",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "StageError",
    "TamperedArtifactError",
    "VersionExistsError",
]
