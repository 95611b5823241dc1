"""A static rule over the page code: text reaches Streamlit's markdown only as a literal or through ui.markup.

Streamlit interprets markdown in the body of st.markdown, captions, alerts and headings, and in every label,
tooltip, metric value, tab and dialog title. An argument in one of those places is accepted when it is

- a string literal (not an f-string), a number or None;
- `md("literal template", ...)` or `plain(value)` from ui.markup;
- a module constant (ALL_CAPS name, attribute or subscript of one: a fixed table of words in the code);
- a parameter annotated `Markdown`, or a local name every assignment of which is acceptable;
- a conditional, `or`, list, tuple or comprehension made only of acceptable parts.

Anything else — an f-string, `+`, `.format`, `str(exc)`, a record's attribute — is a finding. So are markdown
functions used as values (`{"error": st.error}[level](text)`), raw HTML, and st.table (its cells are markdown).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Function name → where its markdown goes: positional indexes and keyword names.
_BODY = ((0,), ("body",))
_LABEL = ((0,), ("label",))
MARKDOWN_ARGUMENTS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    **dict.fromkeys(("markdown", "caption", "info", "warning", "error", "success", "subheader", "header", "title",
                     "toast"), _BODY),
    **dict.fromkeys(("expander", "popover", "status", "button", "download_button", "link_button",
                     "form_submit_button", "checkbox", "toggle", "radio", "selectbox", "multiselect", "text_input",
                     "text_area", "number_input", "date_input", "time_input", "file_uploader", "slider",
                     "select_slider", "color_picker", "pills", "segmented_control", "camera_input",
                     "audio_input", "feedback"), _LABEL),
    "page_link": ((1,), ("label",)),
    "metric": ((0, 1, 2), ("label", "value", "delta")),
    "progress": ((1,), ("text",)),
    "spinner": ((0,), ("text",)),
    "dialog": ((0,), ("title",)),
    "tabs": ((0,), ("tabs",)),
    "write": ((0, 1, 2, 3, 4, 5, 6, 7), ()),
}
# Widgets whose options are shown as markdown (selectbox and multiselect options are plain text).
MARKDOWN_OPTIONS = {"radio", "pills", "segmented_control"}
# Receivers whose methods share a name with Streamlit's but write logs, not pages.
NOT_STREAMLIT = {"log", "logger", "logging", "warnings"}
FORBIDDEN_CALLS = {"html": "raw HTML", "table": "st.table renders its cells as markdown; use st.dataframe",
                   "LinkColumn": "a link from data", "ImageColumn": "an image fetched from data",
                   "Markdown": "Markdown is made by md() and plain() only"}
SAFE_MAKERS = {"md", "plain"}


@dataclass(frozen=True)
class Finding:
    """One place where text may reach markdown without going through ui.markup."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _is_constant_name(name: str) -> bool:
    return name.isupper() or (name.strip("_").isupper() and name.startswith("_"))


class _Scopes(ast.NodeVisitor):
    """For each function (and the module): every binding of every local name."""

    def __init__(self) -> None:
        self.bindings: dict[ast.AST, dict[str, list[ast.AST | None]]] = {}
        self.parents: dict[ast.AST, ast.AST] = {}
        self._stack: list[ast.AST] = []

    def scan(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self._stack = [tree]
        self.bindings[tree] = {}
        self.generic_visit(tree)

    def _bind(self, name: str, value: ast.AST | None) -> None:
        self.bindings[self._stack[-1]].setdefault(name, []).append(value)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self._stack.append(node)
        self.bindings[node] = {}
        arguments = node.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                    *([arguments.vararg] if arguments.vararg else []),
                    *([arguments.kwarg] if arguments.kwarg else [])]:
            # A parameter annotated Markdown is safe: mypy makes every caller pass md() or plain().
            annotation = arg.annotation
            is_markdown = (isinstance(annotation, ast.Name) and annotation.id == "Markdown") or (
                isinstance(annotation, ast.Constant) and annotation.value == "Markdown")
            self._bind(arg.arg, ast.Call(func=ast.Name("plain"), args=[], keywords=[]) if is_markdown else None)
        self.generic_visit(node)
        self._stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def _targets(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._targets(element, None)  # unpacked: not traced

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._targets(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._targets(node.target, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._targets(node.target, None)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._targets(node.target, node.value)
        self.generic_visit(node)

    def _loop_targets(self, target: ast.AST, iterable: ast.AST) -> None:
        # Looping over a literal table of words (or enumerate() of one) binds words from the code.
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "enumerate":
            iterable = iterable.args[0] if iterable.args else iterable
        literal = isinstance(iterable, ast.Tuple | ast.List) and all(
            isinstance(n, ast.Constant | ast.Tuple | ast.List) for n in ast.walk(iterable) if n is not iterable
            and not isinstance(n, ast.Load))
        for name in (n for n in ast.walk(target) if isinstance(n, ast.Name)):
            self._bind(name.id, ast.Constant("") if literal else None)

    def visit_For(self, node: ast.For) -> None:
        self._loop_targets(node.target, node.iter)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._targets(item.optional_vars, None)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._loop_targets(node.target, node.iter)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, None)
        self.generic_visit(node)

    def scope_of(self, node: ast.AST) -> list[ast.AST]:
        """The scopes a name at `node` may come from, innermost first."""
        found = []
        current: ast.AST | None = node
        while current is not None:
            if current in self.bindings:
                found.append(current)
            current = self.parents.get(current)
        return found


class _Checker:
    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.scopes = _Scopes()
        self.scopes.scan(tree)
        self.tree = tree
        self.findings: list[Finding] = []

    def _add(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(self.path, getattr(node, "lineno", 0), what))

    def is_safe(self, node: ast.AST, depth: int = 0) -> bool:
        if depth > 20:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | int | float | bool) or node.value is None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in SAFE_MAKERS:
                if func.id == "md":
                    return bool(node.args) and isinstance(node.args[0], ast.Constant) \
                        and isinstance(node.args[0].value, str)
                return True
            # A constant table's .get(): HELP.get(kind, "…")
            if isinstance(func, ast.Attribute) and func.attr == "get" and self._is_constant(func.value):
                return all(self.is_safe(a, depth + 1) for a in node.args[1:])
            return False
        if isinstance(node, ast.IfExp):
            return self.is_safe(node.body, depth + 1) and self.is_safe(node.orelse, depth + 1)
        if isinstance(node, ast.BoolOp):
            return all(self.is_safe(v, depth + 1) for v in node.values)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return all(self.is_safe(e, depth + 1) for e in node.elts)
        if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            return self.is_safe(node.elt, depth + 1)
        if isinstance(node, ast.Starred):
            return self.is_safe(node.value, depth + 1)
        if self._is_constant(node):
            return True
        if isinstance(node, ast.Name):
            return self._is_safe_name(node, depth)
        return False

    def _is_constant(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return _is_constant_name(node.id)
        if isinstance(node, ast.Attribute):
            return _is_constant_name(node.attr)
        if isinstance(node, ast.Subscript):
            return self._is_constant(node.value)
        return False

    def _is_safe_name(self, node: ast.Name, depth: int) -> bool:
        for scope in self.scopes.scope_of(node):
            values = self.scopes.bindings[scope].get(node.id)
            if values is None:
                continue
            return all(v is not None and self.is_safe(v, depth + 1) for v in values)
        return False

    def check(self) -> list[Finding]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self._check_call(node)
            elif isinstance(node, ast.Attribute) and node.attr in MARKDOWN_ARGUMENTS and self._used_as_value(node):
                self._add(node, f"{ast.unparse(node)} used as a value: call it directly, or use show_alert")
        return self.findings

    def _is_streamlit(self, receiver: ast.AST) -> bool:
        return not (isinstance(receiver, ast.Name) and receiver.id in NOT_STREAMLIT)

    def _used_as_value(self, node: ast.Attribute) -> bool:
        """A markdown function picked at run time, e.g. (col.warning if bad else col.success)(text)."""
        parent = self.scopes.parents.get(node)
        if isinstance(parent, ast.Call) and parent.func is node:
            return False
        receiver = node.value
        if (isinstance(receiver, ast.Name) and receiver.id == "st") or (
                isinstance(receiver, ast.Attribute) and receiver.attr == "sidebar"):
            return True  # st.error without a call is always the function itself
        child: ast.AST = node
        while isinstance(parent, ast.IfExp | ast.BoolOp):
            if isinstance(parent, ast.IfExp) and child is parent.test:
                return False
            child, parent = parent, self.scopes.parents.get(parent)
        return child is not node and isinstance(parent, ast.Call) and parent.func is child

    def _check_call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name is None:
            return  # e.g. st.fragment(...)(show_panel)(); a markdown function inside is found as a value
        for keyword in node.keywords:
            if keyword.arg == "unsafe_allow_html" and not (isinstance(keyword.value, ast.Constant)
                                                           and keyword.value.value is False):
                self._add(node, "unsafe_allow_html: no HTML on a page")
            if keyword.arg == "help" and not self.is_safe(keyword.value):
                self._add(keyword.value, f"help={ast.unparse(keyword.value)} may carry markup from data: "
                                         "use md() or plain()")
        if name in FORBIDDEN_CALLS:
            self._add(node, f"{name}(): {FORBIDDEN_CALLS[name]}")
            return
        if name not in MARKDOWN_ARGUMENTS or (isinstance(func, ast.Attribute) and not self._is_streamlit(func.value)):
            return
        positions, keywords = MARKDOWN_ARGUMENTS[name]
        checked = [node.args[i] for i in positions if i < len(node.args)]
        checked += [k.value for k in node.keywords if k.arg in keywords]
        if name in MARKDOWN_OPTIONS:
            format_func = next((k.value for k in node.keywords if k.arg == "format_func"), None)
            if format_func is None:
                checked += node.args[1:2] + [k.value for k in node.keywords if k.arg == "options"]
            elif not (isinstance(format_func, ast.Attribute) and format_func.attr == "__getitem__"
                      and self._is_constant(format_func.value)):
                self._add(format_func, f"{name} options are markdown: format them with a constant table")
        for argument in checked:
            if not self.is_safe(argument):
                self._add(argument, f"{name}({ast.unparse(argument)[:70]}) may carry markup from data: "
                                    "use md(\"template {}\", value) or plain(value)")


def check_source(path: str, source: str) -> list[Finding]:
    """Every finding in one file."""
    return _Checker(path, ast.parse(source)).check()


def page_sources(root: Path) -> Iterator[Path]:
    """Home.py, the pages and ui/ (but not ui/markup.py, the one place that calls Streamlit with data)."""
    yield root / "Home.py"
    yield from sorted((root / "pages").glob("*.py"))
    yield from sorted(p for p in (root / "ui").glob("*.py") if p.name != "markup.py")
