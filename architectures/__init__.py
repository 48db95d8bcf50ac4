"""Architectures: one file each, registered with ``@register_architecture`` (see bench.core.architecture)."""
