"""A JSON request parser for money: numbers with a fraction become Decimal, never float.

DRF's JSONParser goes through float, which cannot hold 0.0000000375 exactly. This one also
bounds the body (DATA_UPLOAD_MAX_MEMORY_SIZE: 413) and answers 400, not 500, for bodies that
are not JSON, are not UTF-8, use NaN or Infinity, or are nested too deeply to parse.
"""


from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from lib.exact_json import loads_exact


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class DecimalJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        too_large = RequestTooLarge(
            f"The body is larger than {limit} bytes; send the records in smaller requests "
            "(at most 10,000 records each)."
        )
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit is not None and declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise too_large
        try:
            return loads_exact(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None
        except RecursionError:
            raise ParseError("The body is nested too deeply to be a request of this API.") from None
        except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers too long to convert
            raise ParseError(f"The body is not valid JSON: {error}") from None
