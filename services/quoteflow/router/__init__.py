"""The router: public quote API, traffic policy, sticky split, shadow, failover."""
