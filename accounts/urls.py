"""Signing in and out, and changing or resetting a password, with Django's auth views.

The reset email goes through EMAIL_BACKEND (the console by default), so the flow works out of
the box: the link is printed where `make run` shows its output (`check --deploy` warns when a
production setup would do that). Reset requests are throttled (accounts/throttles.py).
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.throttles import ThrottledPasswordResetView

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
