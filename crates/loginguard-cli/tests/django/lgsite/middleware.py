"""Counts the login POSTs that reach Django, one line each in LG_DJANGO_COUNT."""
import os


def count_login_posts(get_response):
    path = os.environ.get("LG_DJANGO_COUNT")

    def middleware(request):
        if path and request.method == "POST" and request.path == "/accounts/login/":
            with open(path, "a") as f:
                f.write("post\n")
        return get_response(request)

    return middleware
