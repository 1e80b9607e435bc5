from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.urls import path


def profile(request):
    if not request.user.is_authenticated:
        return HttpResponse("anonymous", status=403)
    return HttpResponse(f"hello {request.user.username}")


def public(request):
    return HttpResponse("public page")


urlpatterns = [
    path("accounts/login/", LoginView.as_view()),
    path("accounts/profile/", profile),
    path("public/", public),
]
