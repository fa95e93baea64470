"""nautilus layer."""
