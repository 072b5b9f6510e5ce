"""The salesml data model: table specs, the SalesData bundle, IO, validation, simulator."""

from __future__ import annotations

from salesml.data.bundle import MissingTableError, SalesData
from salesml.data.config import DatasetConfig
from salesml.data.io import load_dataset, save_dataset
from salesml.data.schema import SPECS, TABLE_NAMES, TableSpec
from salesml.data.simulate import Truth, simulate
from salesml.data.validate import ValidationReport, validate

__all__ = [
    "SPECS",
    "TABLE_NAMES",
    "DatasetConfig",
    "MissingTableError",
    "SalesData",
    "TableSpec",
    "Truth",
    "ValidationReport",
    "load_dataset",
    "save_dataset",
    "simulate",
    "validate",
]
