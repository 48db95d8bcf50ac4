"""Tasks: one file each, registered with ``@register_task`` (see bench.core.task)."""
