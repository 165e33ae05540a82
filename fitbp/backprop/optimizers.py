"""Optimisers: ways to walk downhill on the loss using backprop gradients.

Each optimiser is a generator.  It asks for gradients through ``objective(k)``
(one forward and backward pass of the computing graph) and yields
``(k, loss)`` once per pass, so the trainer can record, judge convergence and
stop it at any time without knowing how it works.
"""

from __future__ import annotations

import numpy as np

DEFAULT_LR = {"gd": 0.1, "momentum": 0.02, "adam": 0.01}
"""Learning rates that are stable for the scaled variable t in [-1, 1]."""


def gradient_descent(objective, k, lr):
    """The textbook method: k <- k - lr * gradient."""
    while True:
        loss, grad = objective(k)
        yield k, loss
        k = k - lr * grad


def momentum(objective, k, lr, beta=0.9):
    """Heavy-ball descent: a velocity that remembers past gradients."""
    velocity = np.zeros_like(k)
    while True:
        loss, grad = objective(k)
        yield k, loss
        velocity = beta * velocity - lr * grad
        k = k + velocity


def adam(objective, k, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma and Ba, 2015): steps scaled by running gradient moments."""
    m = np.zeros_like(k)
    v = np.zeros_like(k)
    step = 0
    while True:
        loss, grad = objective(k)
        yield k, loss
        step += 1
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1 ** step)
        v_hat = v / (1 - beta2 ** step)
        k = k - lr * m_hat / (np.sqrt(v_hat) + eps)


def preconditioner(r, count):
    """g -> M g with M = (n/2) (RᵀR)⁻¹, the inverse Hessian of the mean squared error over n points.

    R is the data's triangle (fitbp.engines.moments), with RᵀR = VᵀV.  Steps by M are
    steps in coordinates where the data's own polynomials are orthonormal,
    so the loss's Hessian becomes the identity; the parameters stay the
    Taylor coefficients, only the directions change.
    """
    diagonal = np.abs(np.diag(r))
    floor = diagonal.max() * np.finfo(float).eps if diagonal.size else 0.0
    guarded = r + np.diag(np.where(diagonal > floor, 0.0, floor))  # a dependent column must not divide by 0
    inverse = np.linalg.inv(guarded)
    return lambda g: (count / 2.0) * (inverse @ (inverse.T @ g))


def newton(objective, k, precondition, tol, floor=0.0, refine=True):
    """Newton's method on a quadratic loss, k <- k - M g; returns whether it converged.

    With M the exact inverse Hessian, the first step lands on the optimum
    when the arithmetic is exact.  The next pass measures what rounding left:
    g^T M g / 2 is the loss still to gain, and training ends when it is below
    ``tol`` times the loss, usually at the second pass.  Each further step
    refines the last, as iterative refinement does for a linear solve, and so
    does the one measured at the end, with ``refine``: it costs no pass,
    changes the loss by less than ``tol`` of it, and takes the coefficients
    from the first step's rounding (cond² ε) to the triangle's own (cond ε).
    Refinement contracts only while cond² ε < 1, so the caller, who knows the
    condition, says whether to take it.  The generator's value is whether it
    converged, and then with the final k: (True, k).
    """
    best_k, best = k, np.inf
    while True:
        loss, grad = objective(k)
        yield k, loss
        if not loss < best:  # a step that gained nothing: rounding is all that is left
            if loss > best:
                yield best_k, best
            return False
        best_k, best = k, loss
        step = precondition(grad)
        if not grad @ step > 2 * (tol * loss + floor):
            return True, (k - step if refine else k)
        k = k - step


def conjugate_gradient(objective, hessian_times, k, precondition, tol, floor=0.0):
    """Preconditioned linear conjugate gradient for a quadratic loss; returns whether it converged.

    ``hessian_times(p)`` is itself a backprop pass (the gradient of the
    loss's quadratic part at p), so every epoch is one pass of the graph.
    Each step is the exact minimum along its direction.  Between true
    gradients the gradient and loss follow from the quadratic's algebra, at
    no cost; each round starts from a true gradient, and with M the inverse
    Hessian, g^T M g / 2 is the loss still to gain: the round that finds it
    below ``tol`` times the loss ends the training.
    """
    best_k, best = k, np.inf
    while True:
        loss, grad = objective(k)
        yield k, loss
        if not loss < best:
            # A whole round gained nothing: rounding error is as large as what is
            # left to gain (an ill-conditioned problem).  Go back to the best point.
            if loss > best:
                yield best_k, best
            return False
        best_k, best = k, loss
        z = precondition(grad)
        rz = grad @ z
        if not rz > 2 * (tol * loss + floor):
            return True
        direction = -z
        for _ in range(len(k)):
            hp = hessian_times(direction)
            curvature = direction @ hp
            if not curvature > 0:
                break
            alpha = rz / curvature
            k = k + alpha * direction
            loss = loss - 0.5 * alpha * rz
            grad = grad + alpha * hp
            yield k, loss
            z = precondition(grad)
            rz_next = grad @ z
            if not rz_next > 2 * (tol * loss + floor):
                break  # looks converged: confirm with a true gradient
            direction = -z + (rz_next / rz) * direction
            rz = rz_next


OPTIMIZERS = ("newton", "cg", "gd", "momentum", "adam")
EXACT = ("newton", "cg")
"""The optimisers that use the quadratic's exact curvature: mse only, and no learning rate."""
