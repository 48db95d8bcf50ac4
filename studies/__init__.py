"""Studies: published comparisons, one file each, registered with ``@register_study`` (see bench.core.study)."""
