"""The desk's HTTP side: pages, sessions, CSRF, headers. Logic lives in quoteflow.desk."""
