"""The backpropagation engine: a computing graph of operators over numpy arrays, the optimisers that
follow its gradients, and the check of those gradients.  It knows no polynomial and no file."""
