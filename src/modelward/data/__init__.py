"""Tabular data: reading files and dataset specs, input schemas, fingerprints."""

from modelward.data.io import read_data, read_source, read_table, split_target
from modelward.data.schema import fingerprint, infer_schema
from modelward.data.spec import DatasetSpec, load_dataset

__all__ = [
    "DatasetSpec",
    "fingerprint",
    "infer_schema",
    "load_dataset",
    "read_data",
    "read_source",
    "read_table",
    "split_target",
]
