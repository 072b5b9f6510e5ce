"""Import a CRM/ERP export through a column mapping file, without editing the export.

The mapping format is documented in one place, ``docs/mapping.md`` (with two worked
examples in ``datasets/examples/``); ``salesml schema [TABLE]`` lists the model's
tables and columns. In short, a mapping names per model table the source file and::

    columns:       source column: model column (or a list of them)
    values:        model column: {source value: model value}; "" matches an empty
                   cell, "*" every other value, "re:<regex>" / "glob:<pattern>" patterns
    constants:     model column: one value for every row
    fill:          model column: {fill_from: [source column | lookup.<name>, ...],
                                  default: value}     (coalesce, then a default)
    lookups:       name: {file:, key:, on:, value:, match: exact|loose}
    ids:           model column: {template: "{a}-{b}"} | {hash: [a, b], prefix:}
    filter:        {skip: <expression>} | {keep: <expression>}   (counted as skipped)
    placeholders:  reference column: id of a placeholder parent row for empty cells
    date_formats, thousands, delimiter, encoding, keep_unmapped

Rows that break a rule of the model are quarantined (``quarantine.parquet`` in the
dataset folder, read back by ``load_dataset``); nothing is dropped silently:
``read + added == loaded + skipped + quarantined`` for every table.

From Python: :func:`import_dataset`; from the shell::

    salesml import SRC_DIR --mapping mapping.yaml --out DATASET_DIR
    salesml import SRC_DIR --draft-mapping mapping.yaml     # a first draft to edit
"""

from __future__ import annotations

from salesml.data.mapping.engine import MappedExport, MappedTable, apply_mapping
from salesml.data.mapping.importer import ImportReport, import_dataset
from salesml.data.mapping.spec import (
    LIMITS,
    FillRule,
    IdRule,
    ImportMapping,
    Lookup,
    RowFilter,
    TableMapping,
    ValueMap,
)

__all__ = [
    "LIMITS",
    "FillRule",
    "IdRule",
    "ImportMapping",
    "ImportReport",
    "Lookup",
    "MappedExport",
    "MappedTable",
    "RowFilter",
    "TableMapping",
    "ValueMap",
    "apply_mapping",
    "import_dataset",
]
