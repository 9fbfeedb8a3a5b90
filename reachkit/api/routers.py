from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """The spec's paths have no trailing slash; one is tolerated."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
