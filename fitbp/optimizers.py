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


def data_preconditioner(design):
    """M = (n/2) (V^T V)^-1, from the R of a QR factorisation of the design matrix V.

    Preconditioned conjugate gradient with M is plain conjugate gradient in
    coordinates where the data's own polynomials are orthonormal, so the
    loss's Hessian becomes the identity: one step reaches the optimum when
    the arithmetic is exact, a few more when it is not.  The parameters stay
    the Taylor coefficients; only the search directions change.  R comes from
    QR when V is ill-conditioned, so that forming it does not square the
    condition number; from the Cholesky factor of V^T V, ten times quicker,
    when that loses nothing that matters.

    Returns the function g -> M g, the condition number of V and R itself.
    """
    n = design.shape[0]
    r = _cholesky_factor(design)
    if r is None:
        r = np.linalg.qr(design, mode="r")
    diagonal = np.abs(np.diag(r))
    floor = diagonal.max() * np.finfo(float).eps if diagonal.size else 0.0
    guarded = r + np.diag(np.where(diagonal > floor, 0.0, floor))  # a dependent column must not divide by 0
    inverse = np.linalg.inv(guarded)
    with np.errstate(all="ignore"):
        condition = float(np.linalg.cond(r))
    return (lambda g: (n / 2.0) * (inverse @ (inverse.T @ g))), condition, r


def _cholesky_factor(design, most_condition=1e5):
    """R with R^T R = V^T V from the Gram matrix, or None where squaring cond(V) would cost digits."""
    try:
        r = np.linalg.cholesky(design.T @ design).T
    except np.linalg.LinAlgError:
        return None
    with np.errstate(all="ignore"):
        return r if np.linalg.cond(r) < most_condition else None


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


OPTIMIZERS = ("cg", "gd", "momentum", "adam")
