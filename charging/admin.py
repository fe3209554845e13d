from django.contrib import admin

from charging.models import ChargePoint, Site

admin.site.register(Site)
admin.site.register(ChargePoint)
