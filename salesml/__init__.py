"""salesml: a Jupyter-native analytics and ML workbench for sales organisations.

The names a notebook needs most are re-exported here::

    import salesml
    data, truth = salesml.simulate(preset="demo", seed=0)
    data = salesml.load_dataset("datasets/demo")
"""

from __future__ import annotations

__version__ = "0.1.0"

from salesml.data import (  # noqa: E402
    DatasetConfig,
    MissingTableError,
    SalesData,
    load_dataset,
    save_dataset,
    simulate,
)

__all__ = [
    "DatasetConfig",
    "MissingTableError",
    "SalesData",
    "__version__",
    "load_dataset",
    "save_dataset",
    "simulate",
]
