"""SRE control: traffic policy changes and progressive rollouts, local or in a cluster."""
