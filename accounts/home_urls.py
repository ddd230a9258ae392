from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

urlpatterns = [path("", RedirectView.as_view(url=reverse_lazy("spend:index"), permanent=False), name="home")]
