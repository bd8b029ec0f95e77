"""The preprocess service: request validation and feature derivation."""
