"""The tour's ``alsek.storage`` import paths (re-exports only)."""
