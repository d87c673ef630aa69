"""The run record: its typed model, its one codec (id, canonical JSON), its schema, its manifests
and the registry of its sections. Pure: no I/O beyond reading the packaged schema."""

from prov_git.records.codec import (
    SCHEMA_VERSION,
    Record,
    assemble,
    canonical,
    compute_id,
    decode,
    decode_stored,
    encode,
    fast_stored,
    in_stored_form,
    reject_constant,
)

__all__ = ["SCHEMA_VERSION", "Record", "assemble", "canonical", "compute_id", "decode", "decode_stored", "encode",
           "fast_stored", "in_stored_form", "reject_constant"]
