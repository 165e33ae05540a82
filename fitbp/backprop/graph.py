"""The computing graph: nodes that remember how they were made, and the
reverse-mode sweep that pushes a scalar loss's gradient back through them.

Every operator returns a new ``Node`` holding its forward value and, right
beside it, one backward rule per input: a function from the gradient of the
output to the gradient of that input.  Keeping each rule next to its forward
computation keeps the chain rule local, so each operator can be checked on its
own against finite differences.

Values are float64 numpy arrays: one node stands for a whole vector or matrix,
not for a single number, so a pass over a million points is a handful of numpy
calls rather than a million Python objects.
"""

from __future__ import annotations

import numpy as np


class Node:
    """A value in the graph, the operator that produced it and its inputs."""

    __slots__ = ("value", "shape", "grad", "op", "detail", "parents", "rules", "reads", "requires_grad", "name")

    def __init__(self, value, op="const", parents=(), rules=(), requires_grad=False, name=None, detail="",
                 reads=()):
        self.value = np.asarray(value, dtype=np.float64)
        self.shape = self.value.shape
        self.grad = None
        self.op = op
        self.detail = detail  # what else defines the operator, e.g. the exponent of a power
        self.parents = tuple(parents)
        self.rules = tuple(rules)
        self.reads = tuple(reads)  # the inputs whose values the backward rules read
        # A node needs a gradient only if some parameter lies below it; constants
        # such as the design matrix are never differentiated, which halves the work.
        self.requires_grad = requires_grad or any(p.requires_grad for p in self.parents)
        self.name = name

    def __repr__(self):
        label = f" {self.name!r}" if self.name else ""
        return f"Node({self.op}{label}, shape={self.shape})"

    # Operator overloading lets models read like the formulas they implement.
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __neg__(self):
        return mul(self, -1.0)

    def __pow__(self, exponent):
        return power(self, exponent)

    def __matmul__(self, other):
        return matmul(self, other)

    def sum(self):
        return total(self)

    def mean(self):
        return mean(self)

    def backward(self, keep_values=True):
        """Fill ``grad`` of every node that needs one with d(self)/d(node).

        Gradients from all paths are added, so a node used twice is right; they
        are reset first, so calling backward again after new forward values
        gives fresh gradients rather than sums of old ones.  Without
        ``keep_values``, the intermediate values that no backward rule reads
        are let go before the sweep, as autograd engines keep only their
        "saved tensors": at a million points that is memory the sweep's own
        arrays then reuse instead of faulting in fresh pages.
        """
        if self.value.size != 1:
            raise ValueError(f"backward() starts from a scalar loss, not shape {self.shape}")
        order = topological_order(self)
        if not keep_values:
            read = {id(parent) for node in order for parent in node.reads}
            for node in order:
                if node.parents and node is not self and id(node) not in read:
                    node.value = None
        for node in order:
            node.grad = None
        self.grad = np.ones_like(self.value)
        for node in reversed(order):
            if node.grad is None:
                continue
            for parent, rule in zip(node.parents, node.rules):
                if parent.requires_grad:
                    g = rule(node.grad)
                    parent.grad = g if parent.grad is None else parent.grad + g


def parameter(value, name=None):
    """A leaf whose gradient the caller wants."""
    return Node(value, op="param", requires_grad=True, name=name)


def constant(value, name=None):
    """A leaf that is data: never differentiated."""
    return Node(value, op="const", name=name)


def topological_order(root):
    """Nodes below ``root`` that need gradients, each after all its inputs.

    Iterative, so a graph thousands of operators deep does not hit Python's
    recursion limit.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if p.requires_grad and id(p) not in seen)
    return order


def _lift(x):
    return x if isinstance(x, Node) else constant(x)


def _unbroadcast(grad, shape):
    """Sum a gradient over the axes that broadcasting stretched.

    The adjoint of broadcasting: a scalar added to a vector receives the sum
    of the vector's gradient.
    """
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _times(g, factor, values):
    """g * factor * values, in one pass over values when g is a single number broadcast (as the
    gradient arriving from a sum or a mean is): the loss's backward pass then costs what a
    hand-written one does."""
    if g.ndim and not any(g.strides):
        return values * (factor * g.flat[0])
    return g * (factor * values)


def add(a, b):
    a, b = _lift(a), _lift(b)
    return Node(a.value + b.value, "add", (a, b),
                (lambda g: _unbroadcast(g, a.shape), lambda g: _unbroadcast(g, b.shape)))


def sub(a, b):
    a, b = _lift(a), _lift(b)
    return Node(a.value - b.value, "sub", (a, b),
                (lambda g: _unbroadcast(g, a.shape), lambda g: -_unbroadcast(g, b.shape)))


def mul(a, b):
    a, b = _lift(a), _lift(b)
    return Node(a.value * b.value, "mul", (a, b),
                (lambda g: _unbroadcast(g * b.value, a.shape),
                 lambda g: _unbroadcast(g * a.value, b.shape)), reads=(a, b))


def power(a, exponent):
    """a ** exponent for a constant exponent.

    A separate operator from a general power so that negative bases stay
    differentiable: no logarithm of the base is ever taken.
    """
    a = _lift(a)
    p = float(exponent)
    if p == 2.0:  # the loss's square: the common case, kept cheap
        return Node(a.value * a.value, "pow", (a,), (lambda g: _times(g, 2.0, a.value),), detail="2", reads=(a,))
    return Node(a.value ** p, "pow", (a,), (lambda g: g * (p * a.value ** (p - 1.0)),), detail=f"{p:g}",
                reads=(a,))


def matmul(a, b):
    """Matrix product of a 2-D node with a 1-D or 2-D node."""
    a, b = _lift(a), _lift(b)
    if a.value.ndim != 2 or b.value.ndim not in (1, 2):
        raise ValueError(f"matmul takes a matrix and a vector or matrix, not {a.shape} @ {b.shape}")
    if b.value.ndim == 1:
        rule_a = lambda g: np.outer(g, b.value)  # noqa: E731
    else:
        rule_a = lambda g: g @ b.value.T  # noqa: E731
    return Node(a.value @ b.value, "matmul", (a, b), (rule_a, lambda g: a.value.T @ g), reads=(a, b))


def cosine(a):
    """cos a; its rule, −sin a, reads a: a Fourier curve's columns, when the period is learned."""
    a = _lift(a)
    return Node(np.cos(a.value), "cos", (a,), (lambda g: -g * np.sin(a.value),), reads=(a,))


def sine(a):
    """sin a; its rule, cos a."""
    a = _lift(a)
    return Node(np.sin(a.value), "sin", (a,), (lambda g: g * np.cos(a.value),), reads=(a,))


def absolute(a):
    """|a|, with the subgradient 0 at 0 (the choice that leaves exact fits alone)."""
    a = _lift(a)
    return Node(np.abs(a.value), "abs", (a,), (lambda g: g * np.sign(a.value),), reads=(a,))


def minimum(a, bound):
    """min(a, bound) for a constant bound; the gradient passes where a is below it."""
    a = _lift(a)
    b = float(bound)
    return Node(np.minimum(a.value, b), "min", (a,), (lambda g: g * (a.value < b),), detail=f"{b:g}",
                reads=(a,))


def total(a):
    a = _lift(a)
    return Node(a.value.sum(), "sum", (a,), (lambda g: np.broadcast_to(g, a.shape),))


def mean(a):
    a = _lift(a)
    n = a.value.size
    return Node(a.value.mean(), "mean", (a,), (lambda g: np.broadcast_to(g / n, a.shape),))
