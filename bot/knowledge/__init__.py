"""The national référentiel as data: loading, validation, SQL storage and queries."""
