"""placeholder replaced below"""
def validate() -> None:
    """Validate a recipe."""
