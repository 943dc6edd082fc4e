"""Small bundled data for the sample agents: ``feedback.csv`` (made by ``make_feedback.py``),
``feature_spec.md`` (the developer scenario's feature) and ``docs/`` (the researcher's corpus)."""
