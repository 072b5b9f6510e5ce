"""Parse rule text into a small checked tree (the whitelist lives here).

Python's :mod:`ast` parser does the tokenising; every node it returns is then
checked against the grammar and copied into the node classes below, which carry
character offsets into the user's *original* text (not the byte offsets
:mod:`ast` reports, and not offsets into a stripped copy).
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import math
import tokenize
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from salesml.rules._base import (
    MAX_DEPTH,
    MAX_IN_ITEMS,
    MAX_INT,
    MAX_LENGTH,
    MAX_NODES,
    MAX_TEXT_LITERAL,
    ExpressionError,
    shorten,
)
from salesml.rules._types import (
    FUNCTIONS,
    LITERAL_ARGS,
    KindError,
    binary_kind,
    call_kind,
    compare_check,
    describe,
    kind_of,
    unary_kind,
)

__all__ = [
    "Binary",
    "Call",
    "Column",
    "Compare",
    "Link",
    "Literal",
    "Logical",
    "Node",
    "Not",
    "Parsed",
    "Unary",
    "check_aliases",
    "parse",
    "suggest",
]

Kind = str | None


# ---------------------------------------------------------------------- the checked tree
@dataclass(frozen=True, eq=False)
class Node:
    """A checked node: where it is in the user's text and its kind if known statically."""

    start: int
    end: int
    kind: Kind


@dataclass(frozen=True, eq=False)
class Literal(Node):
    value: Any


@dataclass(frozen=True, eq=False)
class Column(Node):
    column: str  # the column looked up (an alias resolved)
    source: str  # the word as the user wrote it


@dataclass(frozen=True, eq=False)
class Unary(Node):
    op: str  # "-" or "+"
    operand: Node


@dataclass(frozen=True, eq=False)
class Not(Node):
    operand: Node


@dataclass(frozen=True, eq=False)
class Binary(Node):
    op: str
    at: int  # offset of the operator
    left: Node
    right: Node


@dataclass(frozen=True, eq=False)
class Logical(Node):
    op: str  # "and" / "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Link:
    """One step of a comparison chain: ``op right`` (or ``in`` a literal list)."""

    op: str
    at: int
    length: int
    right: Node | None
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True, eq=False)
class Compare(Node):
    left: Node
    links: tuple[Link, ...]


@dataclass(frozen=True, eq=False)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Parsed:
    root: Node
    columns: tuple[str, ...]
    names: tuple[str, ...]
    nodes: int


# ---------------------------------------------------------------------- refusals
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_BIN_REFUSED = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
_CMP = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_REFUSED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "subscripts ('[...]') are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment (':=') is not allowed",
    ast.Starred: "starred expressions ('*x') are not allowed",
    ast.IfExp: "conditional expressions ('a if c else b') are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed; use a list: x in [1, 2]",
    ast.Slice: "slices are not allowed",
}
# Characters a Chinese input method types in place of ASCII ones (NFKC covers the rest).
_LOOKALIKE = {"“": '"', "”": '"', "‘": "'", "’": "'", "、": ",", "。": ".", "　": " "}


def _ascii_hint(text: str, offset: int) -> str:
    """A hint when the character at ``offset`` (and those after it) are full-width."""
    ch = text[offset]
    if ch == "　":
        return "; a full-width space was typed, use an ordinary space"
    run = ch
    if unicodedata.normalize("NFKC", ch).isalnum():
        for nxt in text[offset + 1 :]:
            plain = unicodedata.normalize("NFKC", nxt)
            if plain == nxt or not plain.isalnum():
                break
            run += nxt
    plain = "".join(_LOOKALIKE.get(c) or unicodedata.normalize("NFKC", c) for c in run)
    if plain != run and plain.isascii() and plain.strip():
        return f"; {run!r} is typed in full-width or typographic characters, type {plain!r} instead"
    return ""


def _syntax_message(msg: str, text: str, offset: int | None) -> str:
    """Python's parser message in a manager's words, with a hint for full-width input."""
    ch = text[offset] if offset is not None and offset < len(text) else ""
    low = msg.lower()
    if "forgot a comma" in low:
        reason = "two values follow each other without an operator (and / or / a comparison?)"
    elif "maybe you meant '=='" in low or "cannot assign" in low:
        reason = "use '==' to compare; '=' is not allowed"
    elif "unterminated string" in low or "eol while scanning" in low:
        reason = "text in quotes is not closed"
    elif "was never closed" in low:
        reason = "a bracket is opened but never closed"
    elif "unmatched" in low or "does not match" in low:
        reason = "a closing bracket has no opening bracket"
    elif "invalid character" in low or "non-printable" in low:
        reason = f"character {ch!r} cannot be used here" if ch else "invalid character"
    elif "too many nested" in low:
        reason = f"expression is nested too deeply (limit {MAX_DEPTH} brackets)"
    elif offset is not None and offset >= len(text.rstrip()):
        reason = "the expression stops too early; something is missing at the end"
    else:
        reason = "this is not a valid expression here"
    return "invalid syntax: " + reason + (_ascii_hint(text, offset) if ch else "")


def suggest(word: str, candidates: list[str]) -> str:
    """``"; did you mean 'kind'?"`` for a close match, else ``""``."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_aliases(aliases: Mapping[str, str] | None) -> dict[str, str]:
    """Validate an alias mapping (user word -> column name) and return it as a dict.

    Keys must be identifiers as written (``月采购额``, ``复购率``), not keywords, not
    function names and not starting with ``_``; values are column names (any text).
    """
    if aliases is None:
        return {}
    if not isinstance(aliases, Mapping):
        raise ExpressionError(
            f"aliases must be a mapping of word -> column, got {type(aliases).__name__}"
        )
    if len(aliases) > 10_000:
        raise ExpressionError(f"too many aliases ({len(aliases):,}; limit 10,000)")
    out: dict[str, str] = {}
    for key, column in aliases.items():
        if not isinstance(key, str) or not isinstance(column, str) or not column:
            raise ExpressionError(f"alias {key!r} -> {column!r}: both must be non-empty text")
        if len(key) > 100 or len(column) > 300:
            raise ExpressionError(f"alias {shorten(key)!r} is too long")
        if not key.isidentifier() or keyword.iskeyword(key) or key in ("True", "False", "None"):
            raise ExpressionError(
                f"alias {key!r} cannot be used in expressions: it must be one word "
                "(letters, Chinese characters, digits, '_'; no spaces or symbols)"
            )
        if key.startswith("_") or key in FUNCTIONS:
            raise ExpressionError(f"alias {key!r} is reserved (a function name or starts with '_')")
        out[key] = column
    return out


def _bracket_depth(text: str) -> int:
    depth = best = 0
    quote: str | None = None
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    return best


# ---------------------------------------------------------------------- the builder
class _Builder:
    """Walk the :mod:`ast` tree once, refuse anything off the whitelist, build nodes."""

    def __init__(
        self, text: str, body: str, lead: int, aliases: dict[str, str], kinds: Mapping[str, Kind]
    ) -> None:
        self.text = text
        self.body = body.encode("utf-8")
        self.lead = lead
        self.aliases = aliases
        self.kinds = kinds
        self.columns: list[str] = []
        self.names: list[str] = []
        self.count = 0
        # byte offset in the parsed body -> character offset in the original text
        self.b2c: list[int] = []
        for i, ch in enumerate(body):
            self.b2c.extend([lead + i] * len(ch.encode("utf-8")))
        self.b2c.append(lead + len(body))

    # positions -------------------------------------------------------------
    def span(self, node: ast.AST) -> tuple[int, int]:
        col = getattr(node, "col_offset", 0) or 0
        end = getattr(node, "end_col_offset", None)
        start = self.b2c[min(col, len(self.b2c) - 1)]
        stop = self.b2c[min(end, len(self.b2c) - 1)] if end is not None else start + 1
        return start, max(stop, start + 1)

    def between(self, lo: int, hi: int) -> tuple[int, int]:
        """Offset and length of the operator written between two operands."""
        seg = self.text[lo:hi]
        core = seg.strip(" \t\r\n()")
        if not core:
            return lo, 1
        at = lo + seg.index(core)
        return at, len(core)

    def fail(self, reason: str, at: int, length: int = 1) -> ExpressionError:
        return ExpressionError(reason, self.text, at, length=length)

    def fail_node(self, reason: str, node: ast.AST) -> ExpressionError:
        start, end = self.span(node)
        if isinstance(node, ast.Attribute):
            # Point at the '.attr' rather than the start of the chain.
            return self.fail(reason, max(end - len(node.attr) - 1, start), len(node.attr) + 1)
        return self.fail(reason, start, end - start)

    # literals ----------------------------------------------------------------
    def literal(self, value: Any, node: ast.AST) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if abs(value) >= MAX_INT:
                raise self.fail_node(
                    f"the number {shorten(str(value), 24)} is too large "
                    "(whole numbers must be smaller than 10^18)",
                    node,
                )
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail_node("the number is too large (or not a number)", node)
            return value
        if isinstance(value, str):
            if len(value) > MAX_TEXT_LITERAL:
                raise self.fail_node(
                    f"text in quotes is too long ({len(value):,} characters; "
                    f"limit {MAX_TEXT_LITERAL:,})",
                    node,
                )
            return value
        raise self.fail_node(f"literal of type {type(value).__name__} is not allowed", node)

    def literal_value(self, node: ast.AST) -> tuple[bool, Any]:
        """``(True, value)`` if ``node`` is a literal (a signed number counts), else ``(False, None)``."""
        if isinstance(node, ast.Constant):
            return True, self.literal(node.value, node)
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            v = self.literal(node.operand.value, node.operand)
            return True, (-v if isinstance(node.op, ast.USub) else v)
        return False, None

    # names -------------------------------------------------------------------
    def source(self, node: ast.AST) -> str:
        col, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        return self.body[col:end].decode("utf-8", errors="replace")

    def name(self, node: ast.Name) -> Column:
        start, end = self.span(node)
        written = self.source(node)
        if written in self.aliases:
            column = self.aliases[written]
        elif written != node.id:
            hint = f"type it as {node.id!r}"
            if node.id in self.aliases or node.id in self.kinds:
                hint += f" ({node.id!r} is a known name)"
            raise self.fail(
                f"{written!r} is written with full-width or compatibility characters, "
                f"which are not matched to names; {hint}",
                start,
                end - start,
            )
        elif node.id.startswith("_"):
            raise self.fail(
                f"names starting with '_' are not allowed: {node.id!r}", start, end - start
            )
        elif node.id in FUNCTIONS:
            raise self.fail(
                f"{node.id!r} is a function: call it, e.g. {node.id}(x)", start, end - start
            )
        else:
            column = node.id
        if column not in self.columns:
            self.columns.append(column)
        if written not in self.names:
            self.names.append(written)
        return Column(start, end, self.kinds.get(column), column, written)

    # the walk ------------------------------------------------------------------
    def build(self, node: ast.AST, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail_node(f"expression is nested too deeply (limit {MAX_DEPTH})", node)
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail_node(
                f"expression has too many parts (limit {MAX_NODES}); split it into several rules",
                node,
            )
        d = depth + 1
        start, end = self.span(node)
        if isinstance(node, ast.Constant):
            value = self.literal(node.value, node)
            return Literal(start, end, kind_of(value), value)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            parts = tuple(self.build(v, d) for v in node.values)
            for p in parts:
                self.need_condition(p, op)
            return Logical(start, end, "bool", op, parts)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                operand = self.build(node.operand, d)
                self.need_condition(operand, "not")
                return Not(start, end, "bool", operand)
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise self.fail("operator '~' is not allowed; use 'not'", start)
            op = "-" if isinstance(node.op, ast.USub) else "+"
            operand = self.build(node.operand, d)
            try:
                kind = unary_kind(op, operand.kind)
            except KindError as e:
                raise self.fail(str(e), start) from None
            return Unary(start, end, kind, op, operand)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN:
                sym = _BIN_REFUSED.get(type(node.op), type(node.op).__name__)
                _, le = self.span(node.left)
                rs, _ = self.span(node.right)
                at, length = self.between(le, rs)
                raise self.fail(
                    f"operator {sym!r} is not allowed (allowed: + - * / %, and/or/not)", at, length
                )
            left = self.build(node.left, d)
            right = self.build(node.right, d)
            op = _BIN[type(node.op)]
            at, length = self.between(left.end, right.start)
            try:
                kind = binary_kind(op, left.kind, right.kind)
            except KindError as e:
                raise self.fail(str(e), at, length) from None
            return Binary(start, end, kind, op, at, left, right)
        if isinstance(node, ast.Compare):
            return self.compare(node, d, start, end)
        if isinstance(node, ast.Call):
            return self.call(node, d, start, end)
        if isinstance(node, ast.List | ast.Tuple):
            raise self.fail_node("lists and tuples are only allowed after 'in' / 'not in'", node)
        reason = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
        raise self.fail_node(reason, node)

    def need_condition(self, node: Node, op: str) -> None:
        if node.kind is not None and node.kind != "bool":
            what = shorten(self.text[node.start : node.end])
            raise self.fail(
                f"{what!r} is {describe(node.kind)}, not a condition; '{op}' needs conditions "
                f"such as x > 0",
                node.start,
                node.end - node.start,
            )

    def compare(self, node: ast.Compare, d: int, start: int, end: int) -> Compare:
        left = self.build(node.left, d)
        links: list[Link] = []
        prev = left
        for op_node, right_node in zip(node.ops, node.comparators, strict=True):
            rs, re_ = self.span(right_node)
            at, length = self.between(prev.end, rs)
            if type(op_node) not in _CMP:
                raise self.fail("'is' / 'is not' are not allowed; use isnull(x)", at, length)
            op = _CMP[type(op_node)]
            if op in ("in", "not in"):
                if len(links) + 1 < len(node.ops):
                    raise self.fail(
                        f"write {op!r} on its own, e.g. (x in [1, 2]) and y > 3", at, length
                    )
                if not isinstance(right_node, ast.List | ast.Tuple):
                    raise self.fail_node(
                        '\'in\' needs a list or tuple of literals, e.g. x in ["a", "b"]', right_node
                    )
                if len(right_node.elts) > MAX_IN_ITEMS:
                    raise self.fail_node(
                        f"'in' list has {len(right_node.elts):,} values (limit {MAX_IN_ITEMS:,})",
                        right_node,
                    )
                values = []
                for elt in right_node.elts:
                    ok, v = self.literal_value(elt)
                    if not ok:
                        raise self.fail_node("'in' lists may hold only literals", elt)
                    values.append(v)
                self.count += len(values) // 8  # hashed in one pass; count them lightly
                links.append(Link(op, at, length, None, tuple(values)))
                prev = Literal(rs, re_, None, None)
                continue
            right = self.build(right_node, d)
            text_side = prev if prev.kind == "text" else right
            try:
                compare_check(
                    op, prev.kind, right.kind, literal_text=isinstance(text_side, Literal)
                )
            except KindError as e:
                raise self.fail(str(e), at, length) from None
            links.append(Link(op, at, length, right))
            prev = right
        return Compare(start, end, "bool", left, tuple(links))

    def call(self, node: ast.Call, d: int, start: int, end: int) -> Call:
        if isinstance(node.func, ast.Attribute):
            raise self.fail_node(
                "attribute access ('.') and method calls are not allowed", node.func
            )
        if not isinstance(node.func, ast.Name):
            raise self.fail_node("only the named functions may be called", node.func)
        fs, fe = self.span(node.func)
        written = self.source(node.func)
        name = node.func.id
        if written != name and written not in self.aliases:
            raise self.fail(
                f"{written!r} is written with full-width or compatibility characters; "
                f"type it as {name!r}",
                fs,
                fe - fs,
            )
        if written in self.aliases or name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise self.fail(
                f"function {written!r} is not allowed{suggest(written, sorted(FUNCTIONS))} "
                f"(allowed: {allowed})",
                fs,
                fe - fs,
            )
        if node.keywords:
            raise self.fail_node("keyword arguments are not allowed", node.keywords[0].value)
        nargs = FUNCTIONS[name][0]
        if len(node.args) != nargs:
            raise self.fail(
                f"{name}() takes {nargs} argument(s), got {len(node.args)}", fs, end - fs
            )
        args: list[Node] = []
        fill_kind: Kind = None
        for i, a in enumerate(node.args):
            need = LITERAL_ARGS.get(name, {}).get(i)
            if need is None:
                args.append(self.build(a, d))
                continue
            ok, v = self.literal_value(a)
            if need == "text" and not (ok and isinstance(v, str)):
                raise self.fail_node(
                    f'the second argument of {name}() must be text in quotes, e.g. {name}(x, "abc")',
                    a,
                )
            if need == "literal" and (not ok or v is None):
                raise self.fail_node(
                    f"{name}() fills in a literal written in the expression (a number, text in "
                    f"quotes, True or False), e.g. {name}(x, 0); not a column or a calculation",
                    a,
                )
            self.count += 1
            s, e = self.span(a)
            fill_kind = kind_of(v)
            args.append(Literal(s, e, fill_kind, v))
        try:
            kind = call_kind(name, args[0].kind, fill_kind)
        except KindError as e:
            raise self.fail(str(e), start, end - start) from None
        return Call(start, end, kind, name, tuple(args))


def parse(
    text: str, *, aliases: Mapping[str, str] | None = None, kinds: Mapping[str, Kind] | None = None
) -> Parsed:
    """Parse and check ``text``; see :mod:`salesml.rules.expr` for the grammar."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text):,} characters; limit {MAX_LENGTH:,})"
        )
    alias_map = check_aliases(aliases)
    # Newlines become spaces (offsets unchanged), so a rule may span lines in YAML.
    flat = text.replace("\r", " ").replace("\n", " ")
    body = flat.lstrip()
    lead = len(flat) - len(body)
    if not body.strip():
        raise ExpressionError("expression is empty")
    if _bracket_depth(text) > MAX_DEPTH:
        raise ExpressionError(f"expression is nested too deeply (limit {MAX_DEPTH} brackets)")
    try:
        # The newline makes Python report errors at the very end at the end (not at 0).
        tree = ast.parse(body + "\n", mode="eval")
    except SyntaxError as e:
        off = None
        if e.offset is not None:
            off = min(lead + max(e.offset - 1, 0), len(text))
        raise ExpressionError(_syntax_message(e.msg or "", text, off), text, off) from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ExpressionError(f"expression cannot be parsed ({type(e).__name__})") from None
    if "#" in body:
        try:
            for tok in tokenize.generate_tokens(io.StringIO(body).readline):
                if tok.type == tokenize.COMMENT:
                    raise ExpressionError(
                        "'#' comments are not allowed in an expression", text, lead + tok.start[1]
                    )
        except tokenize.TokenError:  # pragma: no cover - ast accepted it
            pass
    builder = _Builder(text, body, lead, alias_map, kinds or {})
    root = builder.build(tree.body)
    return Parsed(root, tuple(builder.columns), tuple(builder.names), builder.count)
