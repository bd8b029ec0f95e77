"""The traffic policy: which share of each model's live traffic goes to Green, and shadow.

- ``policy.py``: one model's section (``Policy``), its parsing, the changes made to it
  (``with_traffic``: Green's share, shadow; ``killed``: the kill switch), the sticky
  bucket assignment it decides (``assign``) and the store holding the running one.
- ``document.py``: the whole document (a section per model) and local mode's source,
  the policy file (read, written one section at a time under a lock, hot-reloaded).
- ``configmap.py``: the cluster's source, the ConfigMap watch, and the one Kubernetes
  client loader.

The router, ``quoteflow traffic`` and ``quoteflow rollout`` all use this package; it
imports nothing of theirs.

One route to the store (decided in issue 25): a router's ``PolicyStore`` changes only
when a source has read a document, through ``document.apply_text``. Writers change the
source, never the store: the admin API writes its model's section of the file
(``PolicyFile.write``), which reloads the file at once, so the PUT answers with what
the router now runs and the next poll finds nothing new; in a cluster the admin API
refuses writes and ``quoteflow traffic --kube`` patches the ConfigMap, which the watch
applies (the mounted copy of the same ConfigMap is polled as the fallback). Before, the
admin API applied its policy to the store and persisted it beside, and the file watcher
read it back. Now what a router runs is always what its source holds, and every change,
from the admin API, the CLI or a hand edit, takes the one path the tests exercise.
"""
