from django.urls import path

from billing import views

app_name = "spend"

urlpatterns = [
    path("", views.spend_index, name="index"),
    path("teams/<slug:team_slug>/", views.team_spend, name="team"),
    path("keys/<slug:key_slug>/", views.key_spend, name="key"),
    path("keys/<slug:key_slug>/generations.csv", views.key_spend_csv, name="key-csv"),
    path("keys/<slug:key_slug>/budget/", views.key_budget, name="key-budget"),
    path("keys/<slug:key_slug>/generations/<int:generation_id>/", views.generation_detail, name="generation"),
]
