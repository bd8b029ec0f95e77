"""Dislocation review: a book priced on two versions, who moves by how much, by segment.

Before a new tariff goes live the actuary looks at the change per policy (the share
moving up or down by more than 5, 10 and 25%, by each rating factor's level and by
premium band, the largest movers) and signs it off. ``quoteflow dislocation`` writes the
review (markdown, PNG plots, a JSON summary), and records it in the registry
(``<registry>/<model>/reviews.jsonl``), where a rollout start looks for it.
"""
