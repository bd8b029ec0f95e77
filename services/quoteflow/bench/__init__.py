"""`quoteflow bench`: quote-path throughput and latency side by side with their anchors."""
