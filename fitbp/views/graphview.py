"""Views of the computing graph: a tree for the terminal and Graphviz DOT for pictures.

This is where fitbp shows what every autodiff framework hides: which
operators the loss is made of, what flows forward through each, and, after
one backward pass, what gradient flows back to it.
"""

from __future__ import annotations

import numpy as np

from fitbp.errors import printable


def summary(values):
    """A short description of an array: all of it when small, its range and mean when not."""
    if values is None:
        return "—"
    values = np.asarray(values)
    if values.ndim == 0:
        return f"{float(values):.6g}"
    if values.size <= 4:
        return "[" + ", ".join(f"{v:.4g}" for v in values.ravel()) + "]"
    return f"min {values.min():.4g}, mean {values.mean():.4g}, max {values.max():.4g}"


def label(node):
    """The operator with what defines it, and the node's name: 'pow 2', 'param a'."""
    parts = [node.op + (f" {node.detail}" if node.detail else "")]
    if node.name:
        parts.append(node.name)
    return " ".join(parts)


def describe(node):
    shape = "×".join(map(str, node.shape)) or "scalar"
    gradient = f"grad {summary(node.grad)}" if node.requires_grad else "no gradient (data)"
    return f"{label(node)}  [{shape}]  value {summary(node.value)}  {gradient}"


def tree(root):
    """A rich Tree from the loss down to the data and the parameters.

    A node that feeds several operators (huber's |r|) is shown in full where it is first met and
    referred to after that, as the DOT output draws it once with several arrows: printing it again
    would look like several copies, each with the whole gradient.
    """
    from rich.markup import escape
    from rich.tree import Tree

    uses = {}
    for node in nodes_of(root):
        for parent in node.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
    shown = set()

    def grow(branch, node):
        for parent in node.parents:
            if id(parent) in shown:
                branch.add(escape(f"{label(parent)}  (↑ see above)"))
                continue
            shared = uses[id(parent)] > 1
            if shared:
                shown.add(id(parent))
            text = describe(parent) + (f"  (used by {uses[id(parent)]} operators)" if shared else "")
            grow(branch.add(escape(text)), parent)

    top = Tree(escape(describe(root)))
    grow(top, root)
    return top


def nodes_of(root):
    """Every node below ``root`` once, inputs before outputs."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents)
    return order


def dot(root, title="fitbp computing graph"):
    """Graphviz DOT: one box a node (operator, shape, value, gradient), arrows in the forward direction."""
    order = nodes_of(root)
    ids = {id(node): f"n{i}" for i, node in enumerate(order)}
    lines = [f"digraph {_quoted([title])} {{", "  rankdir=BT;", '  node [shape=box, fontname="Helvetica"];']
    for node in order:
        rows = [label(node), f"[{'×'.join(map(str, node.shape)) or 'scalar'}]", f"value {summary(node.value)}"]
        if node.requires_grad:
            rows.append(f"grad {summary(node.grad)}")
        fill = "#dbe9f6" if node.op == "param" else "#eeeeee" if not node.requires_grad else "white"
        lines.append(f'  {ids[id(node)]} [label={_quoted(rows)}, style=filled, fillcolor="{fill}"];')
    lines.extend(f"  {ids[id(parent)]} -> {ids[id(node)]};" for node in order for parent in node.parents)
    return "\n".join(lines + ["}"]) + "\n"


def _quoted(rows):
    """A DOT string of several lines: quotes and backslashes escaped, lines joined by DOT's \\n."""
    return '"' + "\\n".join(printable(r).replace("\\", "\\\\").replace('"', '\\"') for r in rows) + '"'
