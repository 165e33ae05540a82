"""Views of a fit: tables and JSON (report), pictures (renderer, terminal), the training film,
the computing graph as text (graphview) and the fit as code (exporter)."""
