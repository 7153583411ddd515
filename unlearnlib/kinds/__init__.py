"""kinds layer."""
