"""Domain errors are answered in one place: their status and message, and nothing else."""

from rest_framework.exceptions import NotFound

from billing.discrepancies import DiscrepancyTransitionError
from billing.invoicing.drafting import InvoiceStateError
from generations.ingest import IngestRejected, RecordError
from lib.errors import DomainError, NotAllowed, api_exception_handler


def test_it_answers_a_refusal_with_400_and_its_message():
    response = api_exception_handler(DiscrepancyTransitionError("A discrepancy cannot go from open to open."), {})

    assert (response.status_code, response.data) == (400, {"detail": "A discrepancy cannot go from open to open."})


def test_it_answers_a_missing_permission_with_403():
    response = api_exception_handler(NotAllowed("Only finance may finalize an unsettled invoice with an override."), {})

    assert response.status_code == 403
    assert response.data == {"detail": "Only finance may finalize an unsettled invoice with an override."}


def test_it_answers_a_rejected_ingest_with_every_error():
    rejected = IngestRejected([RecordError(0, "cost", "must not be negative"), RecordError(None, None, "bad body")])

    response = api_exception_handler(rejected, {})

    assert response.status_code == 400
    assert response.data == {
        "errors": [
            {"index": 0, "field": "cost", "message": "must not be negative"},
            {"index": None, "field": None, "message": "bad body"},
        ]
    }


def test_it_leaves_other_errors_to_rest_framework():
    assert api_exception_handler(NotFound(), {}).status_code == 404
    assert api_exception_handler(ValueError("a bug"), {}) is None


def test_the_services_refusals_are_domain_errors():
    assert issubclass(InvoiceStateError, DomainError) and issubclass(DiscrepancyTransitionError, DomainError)
    assert not issubclass(NotAllowed, PermissionError)
