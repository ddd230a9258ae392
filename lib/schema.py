"""What the OpenAPI schema needs to know about the API as a whole: how callers authenticate,
and the error answers every view shares."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A Tally access token (manage.py create_access_token), scoped to one team: "
            "`ingest` to record generations, `read` for everything else.",
        }


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


MEANINGS = {
    400: "Invalid parameters or body: the message says which and why.",
    401: "No credentials, or an unknown or revoked access token.",
    403: "The token lacks the scope, or the user the role, this needs.",
    404: "No such object among those you may see.",
    413: "The body is larger than the server accepts.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(DetailSerializer, description=MEANINGS[code]) for code in codes}
