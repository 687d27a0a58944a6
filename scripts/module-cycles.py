#!/usr/bin/env python3
"""Finds import circles between the modules of each crate in the workspace, and exits 1 if there is one.

A module is one file (`foo.rs` or `foo/mod.rs`). Module `a` depends on module `b` when `a` names an item of `b` by
path: in a `use`, or inline as `crate::b::item`, `super::item` or `child::item`. Declaring a child (`mod b;`) is
not a dependency; a parent that re-exports or calls its children, and a child that reaches back to its parent, make a
circle like any other. `#[cfg(test)]` modules are left out: tests may look anywhere.

Usage: scripts/module-cycles.py [crate source folder ...]   (default: app/src server/src frontend/src)
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_path(root: Path, file: Path) -> tuple:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


LEXEMES = re.compile(
    r"//[^\n]*|/\*.*?\*/"  # comments
    r'|b?r(#*)".*?"\1|"(?:\\.|[^"\\])*"'  # strings
    r"|'(?:\\.|[^'\\])'",  # characters
    re.S,
)


def strip_comments_and_strings(text: str) -> str:
    return LEXEMES.sub(lambda match: "" if match.group(0).startswith("/") else '""', text)


def strip_test_modules(text: str) -> str:
    """Removes each `#[cfg(test)] mod name { ... }` block."""
    while True:
        match = re.search(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+" + IDENT + r"\s*\{", text)
        if not match:
            return text
        depth, index = 1, match.end()
        while depth and index < len(text):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        text = text[: match.start()] + text[index:]


def expand_use(tree: str) -> list:
    """Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`."""
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for index, char in enumerate(tree):
        if char == "{":
            if depth == 0:
                prefix, inner = tree[:index], tree[index + 1 : tree.rindex("}")]
                parts, depth2, start = [], 0, 0
                for i, c in enumerate(inner):
                    depth2 += {"{": 1, "}": -1}.get(c, 0)
                    if c == "," and depth2 == 0:
                        parts.append(inner[start:i])
                        start = i + 1
                parts.append(inner[start:])
                return [path for part in parts if part for path in expand_use(prefix + part)]
            depth += 1
    return [re.sub(r"\bas\b.*$", "", tree)]


def resolve(current: tuple, path: list, children: set, modules: set):
    """The module a path names an item of, or None for another crate's."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    if head == "crate":
        base = ()
    elif head in ("super", "self"):
        base = current
        while path and path[0] in ("super", "self"):
            if path[0] == "super":
                base = base[:-1]
            path = path[1:]
        rest = path
    elif head in children:
        base, rest = current + (head,), rest
    else:
        return None
    target = base
    for segment in rest:
        if target + (segment,) in modules:
            target = target + (segment,)
        else:
            break
    return target


def crate_graph(root: Path) -> dict:
    files = {module_path(root, file): file for file in sorted(root.rglob("*.rs")) if file.name != "main.rs"}
    if (root / "main.rs").exists() and not (root / "lib.rs").exists():
        files[()] = root / "main.rs"
    modules = set(files)
    graph = {}
    for module, file in files.items():
        text = strip_test_modules(strip_comments_and_strings(file.read_text()))
        edges = set()
        for inner, code in inline_modules(module, text):
            edges |= references(inner, code, modules)
        # An inline module is part of its file: what it names, the file names.
        graph[module] = edges - {module}
    return graph


def inline_modules(module: tuple, text: str) -> list:
    """The file's code outside inline `mod name { ... }` blocks, then each block's code, with their module paths."""
    found, outside, index = [], [], 0
    for match in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", text):
        if match.start() < index:
            continue
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        outside.append(text[index : match.start()])
        found.extend(inline_modules(module + (match.group(1),), text[match.end() : end - 1]))
        index = end
    outside.append(text[index:])
    return [(module, "".join(outside))] + found


def references(module: tuple, text: str, modules: set) -> set:
    """The modules whose items `text`, as code of `module`, names by path."""
    children = set(re.findall(r"\bmod\s+(" + IDENT + r")\s*[;{]", text))
    paths = []
    for use in re.findall(r"\buse\s+([^;]+);", text):
        paths.extend(expand_use(use))
    text_without_uses = re.sub(r"\buse\s+[^;]+;", "", text)
    paths.extend(
        match.group(0)
        for match in re.finditer(r"\b(?:crate|super|self|" + IDENT + r")(?:::" + IDENT + r")+", text_without_uses)
    )
    targets = set()
    for path in paths:
        target = resolve(module, [part for part in path.split("::") if part and part != "*"], children, modules)
        if target is not None:
            targets.add(target)
    return targets


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10000)
    for node in graph:
        if node not in index:
            visit(node)
    return found


def main() -> int:
    roots = [Path(arg) for arg in sys.argv[1:]] or [Path("app/src"), Path("server/src"), Path("frontend/src")]
    failed = False
    for root in roots:
        graph = crate_graph(root)
        for component in cycles(graph):
            failed = True
            names = sorted("::".join(("crate",) + module) for module in component)
            print(f"{root}: import circle between {', '.join(names)}")
            members = set(component)
            for module in sorted(component):
                for target in sorted(graph[module] & members):
                    print(f"    {'::'.join(('crate',) + module)} -> {'::'.join(('crate',) + target)}")
    if not failed:
        print("no import circles in " + ", ".join(str(root) for root in roots))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
