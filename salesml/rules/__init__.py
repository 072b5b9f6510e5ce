"""salesml.rules: safe rule expressions (and, later, tiering and reminders built on them)."""

from __future__ import annotations

from salesml.rules.expr import FUNCTIONS, Expr, ExpressionError, compile_expr, mask

__all__ = ["FUNCTIONS", "Expr", "ExpressionError", "compile_expr", "mask"]
