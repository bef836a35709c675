"""placeholder replaced below"""
def init() -> None:
    """Scaffold a recipe."""
