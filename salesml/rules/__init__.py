"""salesml.rules: safe rule expressions and phrase templates (tiering and reminders build on them)."""

from __future__ import annotations

from salesml.rules.expr import (
    FUNCTIONS,
    Expr,
    ExpressionError,
    compile_expr,
    evaluate_mask,
    mask,
)

__all__ = ["FUNCTIONS", "Expr", "ExpressionError", "compile_expr", "evaluate_mask", "mask"]
