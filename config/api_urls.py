"""The REST API under /api/v1/: each app's api.py contributes its views here."""

urlpatterns: list = []
