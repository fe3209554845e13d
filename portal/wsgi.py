import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

from portal.middleware import PortalWSGIRequest  # noqa: E402  (needs the settings loaded above)

# A request whose declared charset makes Django's own request class raise becomes a 400 (see there).
application.request_class = PortalWSGIRequest
