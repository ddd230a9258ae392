"""One shape for what a team reports about a generation: ingest's wire fields, the validated
record, the insert's columns, the API's answer and the stored model name the same facts."""

from dataclasses import fields

from generations.ingest.records import CONTENT_COLUMNS, ValidRecord
from generations.ingest.validation import KNOWN_FIELDS
from generations.ingest.writing import COLUMN_TYPES
from generations.models import REPORTED_FIELDS, SPEND_FIELDS, DailySpend, Generation
from generations.rollups import SpendFacts
from generations.serializers import GenerationSerializer, IngestRecordSerializer


def test_ingest_takes_exactly_the_reported_facts_besides_which_gateway_key_and_id():
    assert KNOWN_FIELDS == {"gateway", "id", "api_key", *REPORTED_FIELDS}
    assert set(IngestRecordSerializer().fields) == KNOWN_FIELDS


def test_every_reported_fact_is_a_column_of_the_generation_and_of_the_insert():
    columns = {field.name for field in Generation._meta.concrete_fields}
    assert set(REPORTED_FIELDS) <= columns
    assert set(COLUMN_TYPES) == set(ValidRecord._fields)
    assert set(COLUMN_TYPES) <= {field.attname for field in Generation._meta.concrete_fields}
    assert set(CONTENT_COLUMNS) == {"api_key_id", "team_id", *REPORTED_FIELDS}


def test_the_api_shows_every_reported_fact():
    assert set(REPORTED_FIELDS) <= set(GenerationSerializer.Meta.fields)


def test_the_roll_up_sums_are_the_daily_spend_columns_and_spend_facts_read_only_generation_fields():
    assert set(SPEND_FIELDS) == {field.name for field in DailySpend._meta.concrete_fields} - {
        "id",
        "api_key",
        "team",
        "day",
        "model",
    }
    generation_fields = {field.attname for field in Generation._meta.concrete_fields}
    assert {field.name for field in fields(SpendFacts)} <= generation_fields
