"""Fitting: the Taylor model and its loss graphs, the trainer, the statistics of a fit and the
model file that keeps it."""
