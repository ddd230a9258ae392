"""API views for invoices and their lines."""


from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import restrict_to_visible_teams
from billing.invoicing.periods import period_parse
from billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from lib.pagination import KeysetPagination
from lib.permissions import CanRead
from lib.query_params import choice_param, filtered, text_param
from lib.schema import error_responses


class InvoiceLineSerializer(serializers.ModelSerializer):
    api_key = serializers.CharField(source="api_key.slug", allow_null=True, help_text="Null on adjustment lines.")

    class Meta:
        model = InvoiceLine
        fields = ["kind", "api_key", "model", "description", "generations", "tokens", "amount", "verified_amount"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug")
    period = serializers.DateField(format="%Y-%m", help_text="The billed month, YYYY-MM (UTC).")
    verified_share = serializers.DecimalField(max_digits=5, decimal_places=4, help_text="0 to 1.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "team",
            "period",
            "status",
            "currency",
            "subtotal",
            "markup",
            "total",
            "verified_amount",
            "verified_share",
            "created_at",
            "drafted_at",
            "finalized_at",
            "voided_at",
        ]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True)

    class Meta(InvoiceSerializer.Meta):
        fields = InvoiceSerializer.Meta.fields + ["lines"]
        read_only_fields = fields


def visible_invoices(user) -> QuerySet[Invoice]:
    return restrict_to_visible_teams(Invoice.objects.select_related("team"), user)


class InvoiceListView(generics.ListAPIView):
    serializer_class = InvoiceSerializer
    permission_classes = [CanRead]
    pagination_class = KeysetPagination
    keyset = ("id",)

    def get_queryset(self) -> QuerySet[Invoice]:
        request = self.request
        period = text_param(request, "period")
        if period is not None:
            try:
                period = period_parse(period)
            except ValueError:
                raise ParseError("Query parameter 'period': Must be a month, YYYY-MM.") from None
        return filtered(
            visible_invoices(request.user),
            {
                "team__slug": text_param(request, "team"),
                "status": choice_param(request, "status", InvoiceStatus.values),
                "period": period,
            },
        )

    @extend_schema(
        summary="List invoices",
        parameters=[
            OpenApiParameter("team", str, description="Team slug."),
            OpenApiParameter("status", str, enum=InvoiceStatus.values),
            OpenApiParameter("period", str, description="The billed month, YYYY-MM."),
        ],
        responses={200: InvoiceSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class InvoiceDetailView(generics.RetrieveAPIView):
    serializer_class = InvoiceDetailSerializer
    permission_classes = [CanRead]

    def get_object(self) -> Invoice:
        queryset = visible_invoices(self.request.user).prefetch_related("lines__api_key")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    @extend_schema(
        summary="One invoice, with its lines",
        responses={200: InvoiceDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
