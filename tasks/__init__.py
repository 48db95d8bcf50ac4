"""Tasks: one file each, registered with ``@register_task`` (see bench.task)."""
