"""The tour's ``alsek.core`` import paths (re-exports only)."""
